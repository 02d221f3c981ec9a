import { createHash } from 'node:crypto';
import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy, RecordKind, VersionFields, Workflow } from '../../core/records.js';
import { kmeans } from '../../reasoning/kmeans.js';
import { buildClusters, semanticFields, type ClusterRecord, type SemanticField } from '../../reasoning/semantic-fields.js';
import { findCrossDomainAnalogies, type DomainField, type FieldMember } from '../../reasoning/cross-domain.js';
import { wordnet } from '../../reasoning/wordnet.js';
import type { Backend } from '../../backend/backend.js';
import type { WriteBatch } from '../../backend/write-batch.js';
import type { Engine } from '../../workflows/engine.js';
import { createWorkflow } from '../../workflows/create.js';
import { processWorkflow } from '../../workflows/process.js';
import { putEntity, softDeleteEntity } from '../entities/mutations.js';
import { effectiveSettings } from '../embeddings/settings.js';
import { contextVectors, type CachedVector } from '../embeddings/context-vectors.js';

/**
 * Clusters and semantic fields of a context: k-means (k-means++ seeding, fixed seed) over its
 * active concepts' vectors, stored as `cluster` (id = cluster_id) and `semantic_field` records
 * (id = the field's name, slugged) through a cluster_update workflow. A new discovery replaces
 * the previous one: records of the same id get their next version, the others are soft-deleted.
 */
export type StoredCluster = ClusterRecord & VersionFields & { id: string; context: string };
export type StoredField = SemanticField & VersionFields & { id: string; context: string };

export type ClusterItem =
  | { op: 'put'; kind: 'cluster'; record: ClusterRecord & { id: string; context: string } }
  | { op: 'put'; kind: 'semantic_field'; record: SemanticField & { id: string; context: string } }
  | { op: 'delete'; kind: 'cluster' | 'semantic_field'; id: string };

/** The record an item writes (read through `batch.current`). */
export function clusterItemKey(raw: unknown): readonly [RecordKind, string] {
  const item = raw as ClusterItem;
  return [item.kind, item.op === 'delete' ? item.id : item.record.id];
}

export function applyClusterItem(batch: WriteBatch, raw: unknown, now: string): void {
  const item = raw as ClusterItem;
  if (item.op === 'delete') {
    const stored = batch.current(item.kind, item.id);
    if (stored && !stored.deleted) softDeleteEntity(batch, item.kind, item.id, now);
    return;
  }
  putEntity(batch, item.kind, { ...item.record, context: batch.context.name }, now);
}

export function fieldId(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[_.-]+/, '')
    .slice(0, 200);
  return `field:${slug || 'unnamed'}`;
}

export interface DiscoverOptions {
  context?: string;
  k: number;
  minCoherence?: number;
  seed?: number;
  maxIterations?: number;
}

export interface DiscoverResult {
  workflow: Workflow;
  context: string;
  k: number;
  concepts: number;
  iterations: number;
  converged: boolean;
  inertia: number;
  seconds: number;
  clusters: StoredCluster[];
  fields: StoredField[];
}

export async function discoverFields(engine: Engine, options: DiscoverOptions): Promise<DiscoverResult> {
  const started = performance.now();
  const backend = engine.backend;
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  await backend.contexts.require(context);
  const vectors = await dimensionedVectors(backend, context);
  if (vectors.length === 0) throw new SoftlogicError('INVALID_INPUT', `context '${context}' has no concepts with vectors to cluster`, { context });
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new SoftlogicError('INVALID_INPUT', `k must be a positive integer, got ${k}`, { field: 'k' });
  if (k > vectors.length) {
    throw new SoftlogicError('INVALID_INPUT', `k = ${k} is larger than the number of concepts in '${context}' (${vectors.length})`, { field: 'k', k, concepts: vectors.length });
  }
  const dim = vectors[0].vector.length;
  const data = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => data.set(v.vector, i * dim));
  const result = kmeans({ data, n: vectors.length, dim }, { k, seed: options.seed, maxIterations: options.maxIterations });
  const ids = vectors.map((v) => v.id);
  const byId = new Map(vectors.map((v) => [v.id, v]));
  const wn = wordnet();
  const pathsMemo = new Map<string, string[][] | undefined>();
  const fieldOptions = {
    minCoherence: options.minCoherence ?? 0,
    labelOf: (id: string) => byId.get(id)?.name.replace(/_/g, ' ') ?? id,
    hypernymPaths: (id: string) => {
      const syn = byId.get(id)?.synset_id;
      if (!syn) return undefined;
      if (!pathsMemo.has(syn)) pathsMemo.set(syn, wn.hypernymPaths(syn));
      return pathsMemo.get(syn);
    },
  };
  const clusters = buildClusters(ids, result, fieldOptions);
  const fields = semanticFields(ids, result, fieldOptions);
  const clusterIds = new Set(clusters.map((c) => c.cluster_id));
  const fieldIds = new Set(fields.map((f) => fieldId(f.name)));
  const stale: ClusterItem[] = [];
  const before = await listFields(backend, context);
  for (const c of before.clusters) if (!clusterIds.has(c.id)) stale.push({ op: 'delete', kind: 'cluster', id: c.id });
  for (const f of before.fields) if (!fieldIds.has(f.id)) stale.push({ op: 'delete', kind: 'semantic_field', id: f.id });
  const metadata = { k, seed: result.seed, min_coherence: options.minCoherence ?? 0, concepts: vectors.length };
  const wf = await createWorkflow(engine, { workflowType: 'cluster_update', context, metadata, autoProcess: true }, (writer) => {
    for (const c of clusters) writer.add({ op: 'put', kind: 'cluster', record: { ...c, id: c.cluster_id, context } } satisfies ClusterItem);
    for (const f of fields) writer.add({ op: 'put', kind: 'semantic_field', record: { ...f, id: fieldId(f.name), context } } satisfies ClusterItem);
    for (const s of stale) writer.add(s);
  });
  const workflow = await processWorkflow(engine, wf.workflow_id);
  const after = await listFields(backend, context);
  return {
    workflow,
    context,
    k,
    concepts: vectors.length,
    iterations: result.iterations,
    converged: result.converged,
    inertia: result.inertia,
    seconds: Math.round(performance.now() - started) / 1000,
    clusters: after.clusters,
    fields: after.fields,
  };
}

/** The concept vectors of a context that have its recorded dimension (what clustering and projection use). */
export async function dimensionedVectors(backend: Backend, context: string): Promise<CachedVector[]> {
  return contextVectors(backend, context, (await effectiveSettings(backend, context))?.dimension);
}

export async function listFields(backend: Backend, context = DEFAULT_CONTEXT): Promise<{ clusters: StoredCluster[]; fields: StoredField[] }> {
  await backend.contexts.require(assertContextName(context));
  return {
    clusters: await backend.records.queryEntities<StoredCluster>(context, 'cluster'),
    fields: await backend.records.queryEntities<StoredField>(context, 'semantic_field'),
  };
}

export interface CrossDomainCommandOptions {
  context?: string;
  source?: string;
  target?: string;
  minQuality?: number;
  maxAnalogies?: number;
}

export interface CrossDomainResult {
  context: string;
  pairs: number;
  workflow: Workflow | null;
  analogies: Analogy[];
}

/** A deterministic analogy id, so finding the same mapping again updates it instead of duplicating it. */
function analogyId(source: string, target: string, mappings: Record<string, string>): string {
  const h = createHash('sha256').update(JSON.stringify([source, target, Object.entries(mappings).sort()])).digest('hex');
  return `xd-${h.slice(0, 24)}`;
}

function fieldByName(fields: StoredField[], name: string, role: string): StoredField {
  const f = fields.find((x) => x.name === name || x.id === name || x.id === fieldId(name));
  if (!f) throw new SoftlogicError('NOT_FOUND', `${role} field "${name}" not found (fields: ${fields.map((x) => x.name).join(', ') || 'none; run fields discover'})`, { field: name });
  return f;
}

/**
 * Cross-domain analogies between semantic fields (the given pair, or every ordered pair), stored
 * as analogy records through an analogy_creation workflow, so they stream, query and delete like
 * any other analogy.
 */
export async function crossDomain(engine: Engine, options: CrossDomainCommandOptions = {}): Promise<CrossDomainResult> {
  const backend = engine.backend;
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  await backend.contexts.require(context);
  const minQuality = options.minQuality ?? 0.4;
  const fields = await backend.records.queryEntities<StoredField>(context, 'semantic_field');
  const vectors = new Map((await contextVectors(backend, context)).map((v) => [v.id, v.vector]));
  const domain = (f: StoredField): DomainField => {
    const members: FieldMember[] = [];
    const ordered = [...f.core_concepts, ...Object.entries(f.related_concepts).sort((a, b) => b[1] - a[1]).map(([id]) => id)];
    for (const id of ordered) {
      const v = vectors.get(id);
      if (v) members.push({ id, vector: v });
    }
    return { name: f.name, members };
  };
  let pairs: Array<[StoredField, StoredField]>;
  if (options.source !== undefined || options.target !== undefined) {
    if (options.source === undefined || options.target === undefined) throw new SoftlogicError('INVALID_INPUT', 'source and target fields go together', { field: 'source' });
    const s = fieldByName(fields, options.source, 'source');
    const t = fieldByName(fields, options.target, 'target');
    if (s.id === t.id) throw new SoftlogicError('INVALID_INPUT', 'source and target fields must differ', { field: 'target' });
    pairs = [[s, t]];
  } else {
    if (fields.length < 2) throw new SoftlogicError('INVALID_INPUT', `context '${context}' has ${fields.length} semantic field(s); cross-domain needs two (run fields discover)`, { context });
    pairs = [];
    for (const s of fields) for (const t of fields) if (s.id !== t.id) pairs.push([s, t]);
  }
  const found = pairs.flatMap(([s, t]) => findCrossDomainAnalogies(domain(s), domain(t), { minQuality, maxAnalogies: options.maxAnalogies }));
  if (found.length === 0) return { context, pairs: pairs.length, workflow: null, analogies: [] };
  const wf = await createWorkflow(engine, { workflowType: 'analogy_creation', context, metadata: { source: 'fields cross-domain', min_quality: minQuality }, autoProcess: true }, (writer) => {
    for (const a of found) {
      writer.add({
        op: 'put',
        record: {
          id: analogyId(a.source_domain, a.target_domain, a.concept_mappings),
          context,
          source_domain: a.source_domain,
          target_domain: a.target_domain,
          quality_score: a.quality_score,
          concept_mappings: a.concept_mappings,
          frame_mappings: {},
          tags: ['cross_domain'],
          metadata: a.metadata as unknown as Record<string, unknown>,
        },
      });
    }
  });
  const workflow = await processWorkflow(engine, wf.workflow_id);
  const ids = found.map((a) => analogyId(a.source_domain, a.target_domain, a.concept_mappings));
  const analogies: Analogy[] = [];
  for (const id of new Set(ids)) {
    const analogy = await backend.records.getAnalogy(context, id);
    if (!analogy) throw new SoftlogicError('INTERNAL', `analogy ${id} was not stored`);
    analogies.push(analogy);
  }
  return { context, pairs: pairs.length, workflow, analogies };
}
