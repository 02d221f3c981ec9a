import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import { pca } from '../../reasoning/pca.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { listEntities } from '../entities/read.js';
import { effectiveSettings } from '../embeddings/settings.js';
import { contextVectors } from '../embeddings/context-vectors.js';
import { embeddedVectorParts } from '../../backend/embedded/embedded-vector-parts.js';
import type { StoredCluster, StoredField } from './fields.js';

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
export async function projectConcepts(store: EmbeddedStore, context = DEFAULT_CONTEXT): Promise<Projection> {
  assertContextName(context);
  store.requireContext(context);
  const parts = embeddedVectorParts(store);
  const vectors = await contextVectors(parts, context, (await effectiveSettings(parts, context))?.dimension);
  const fieldOfCluster = new Map<string, string>();
  for (const f of listEntities<StoredField>(store, 'semantic_field', context)) fieldOfCluster.set(f.cluster_id, f.name);
  const fieldOf = new Map<string, { name: string; weight: number }>();
  for (const c of listEntities<StoredCluster>(store, 'cluster', context)) {
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
