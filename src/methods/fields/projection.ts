import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import { pca } from '../../reasoning/pca.js';
import type { Backend } from '../../backend/backend.js';
import { dimensionedVectors, listFields } from './fields.js';

export interface ProjectedConcept {
  id: string;
  name: string;
  x: number;
  y: number;
  /** the semantic field (else the cluster) the concept belongs to most strongly, null if none */
  field: string | null;
}

export interface Projection {
  context: string;
  method: 'pca';
  dimension: number;
  points: ProjectedConcept[];
}

/** The concept vectors of a context projected to 2-D (PCA), each with the cluster it belongs to. */
export async function projectConcepts(backend: Backend, context = DEFAULT_CONTEXT): Promise<Projection> {
  assertContextName(context);
  const { clusters, fields } = await listFields(backend, context);
  const vectors = await dimensionedVectors(backend, context);
  const fieldOfCluster = new Map<string, string>();
  for (const f of fields) fieldOfCluster.set(f.cluster_id, f.name);
  const fieldOf = new Map<string, { name: string; weight: number }>();
  for (const c of clusters) {
    const name = fieldOfCluster.get(c.cluster_id) ?? c.name;
    for (const [id, weight] of Object.entries(c.members ?? {})) {
      const prev = fieldOf.get(id);
      if (!prev || weight > prev.weight) fieldOf.set(id, { name, weight });
    }
  }
  const xy = pca(vectors.map((v) => v.vector));
  return {
    context,
    method: 'pca',
    dimension: vectors[0]?.vector.length ?? 0,
    points: vectors.map((v, i) => ({ id: v.id, name: v.name, x: xy[i][0] ?? 0, y: xy[i][1] ?? 0, field: fieldOf.get(v.id)?.name ?? null })),
  };
}
