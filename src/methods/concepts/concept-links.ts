/**
 * A concept's `cluster_memberships` and `frame_roles` are derived when it is read, from the
 * records that hold them: the active `cluster` records of the concept's context (members: concept
 * id -> strength) and the active `frame_instance` records of that context and its descendants
 * (element_bindings: element -> concept id, giving roles `Frame.element`). Nothing is stored on
 * the concept, so the two fields are right after any rediscovery, instance add or delete, restore
 * or rebuild without rewriting concept versions. The derivation is read once per context and kept
 * until a write to one of those contexts moves their change mark (RecordReader.changeMark).
 */
import type { Backend } from '../../backend/backend.js';
import type { ClusterRecord } from '../../reasoning/semantic-fields.js';
import type { FrameInstance } from '../../reasoning/frames.js';
import type { ConceptRecord } from './concept-record.js';

export interface ConceptLinks {
  clusters: Map<string, Record<string, number>>;
  roles: Map<string, string[]>;
}

const cache = new WeakMap<Backend, Map<string, { mark: string; links: ConceptLinks }>>();

/** The links of the concepts of `context`. */
export async function conceptLinks(backend: Backend, context: string): Promise<ConceptLinks> {
  const all = await backend.contexts.list();
  const byName = new Map(all.map((c) => [c.name, c]));
  // The context and every context below it (an instance there may bind a concept of its parent).
  const scope = all
    .filter((c) => {
      for (let row: typeof c | undefined = c, depth = 0; row && depth < 64; row = row.parent ? byName.get(row.parent) : undefined, depth++) {
        if (row.name === context) return true;
      }
      return false;
    })
    .map((c) => c.name);
  const mark = await backend.records.changeMark(scope);
  let perBackend = cache.get(backend);
  if (!perBackend) cache.set(backend, (perBackend = new Map()));
  const known = perBackend.get(context);
  if (known && known.mark === mark) return known.links;

  const links: ConceptLinks = { clusters: new Map(), roles: new Map() };
  if (byName.has(context)) {
    for (const cluster of await backend.records.queryEntities<ClusterRecord & { id: string }>(context, 'cluster')) {
      for (const [concept, strength] of Object.entries(cluster.members)) {
        let m = links.clusters.get(concept);
        if (!m) links.clusters.set(concept, (m = {}));
        m[cluster.id] = strength;
      }
    }
  }
  const roleSets = new Map<string, Set<string>>();
  for (const c of scope) {
    for (const inst of await backend.records.queryEntities<FrameInstance>(c, 'frame_instance')) {
      for (const [element, concept] of Object.entries(inst.element_bindings)) {
        let s = roleSets.get(concept);
        if (!s) roleSets.set(concept, (s = new Set()));
        s.add(`${inst.frame_name}.${element}`);
      }
    }
  }
  for (const [concept, roles] of roleSets) links.roles.set(concept, [...roles].sort());
  perBackend.set(context, { mark, links });
  return links;
}

/** The record with its derived fields filled in from `links` (of the record's own context). */
export function withLinks<T extends ConceptRecord>(record: T, links: ConceptLinks): T {
  return { ...record, frame_roles: links.roles.get(record.id) ?? [], cluster_memberships: links.clusters.get(record.id) ?? {} };
}

/** Fills the derived fields of concepts read from any contexts, reading each context's links once. */
export async function linkConcepts<T extends ConceptRecord>(backend: Backend, records: T[]): Promise<T[]> {
  const per = new Map<string, ConceptLinks>();
  for (const r of records) if (!per.has(r.context)) per.set(r.context, await conceptLinks(backend, r.context));
  return records.map((r) => withLinks(r, per.get(r.context) as ConceptLinks));
}

export async function linkConcept<T extends ConceptRecord>(backend: Backend, record: T): Promise<T> {
  return withLinks(record, await conceptLinks(backend, record.context));
}
