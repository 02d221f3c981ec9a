/**
 * A concept's `cluster_memberships` and `frame_roles` are derived when it is read, from the
 * records that hold them: the active `cluster` records of the concept's context (members: concept
 * id -> strength) and the active `frame_instance` records of that context and its descendants
 * (element_bindings: element -> concept id, giving roles `Frame.element`). Nothing is stored on
 * the concept, so the two fields are right after any rediscovery, instance add or delete, restore
 * or rebuild without rewriting concept versions. The derivation is read once per context and kept
 * until a write to one of those contexts moves its watermark (applied_seq).
 */
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { readEntity } from '../entities/read.js';
import type { ClusterRecord } from '../../reasoning/semantic-fields.js';
import type { FrameInstance } from '../../reasoning/frames.js';
import type { ConceptRecord } from './concept-record.js';

export interface ConceptLinks {
  clusters: Map<string, Record<string, number>>;
  roles: Map<string, string[]>;
}

const cache = new WeakMap<EmbeddedStore, Map<string, { stamp: string; links: ConceptLinks }>>();

function activeRows(store: EmbeddedStore, ctx: number, kind: string): Array<{ key: number; off: number; len: number }> {
  return store.db.prepare(`SELECT key, off, len FROM entities WHERE ctx = ? AND kind = ? AND deleted_at IS NULL`).all(ctx, kind) as Array<{ key: number; off: number; len: number }>;
}

/** The links of the concepts of `context`. */
export function conceptLinks(store: EmbeddedStore, context: string): ConceptLinks {
  const all = store.listContexts();
  const byName = new Map(all.map((c) => [c.name, c]));
  // The context and every context below it (an instance there may bind a concept of its parent).
  const scope = all.filter((c) => {
    for (let row: typeof c | undefined = c, depth = 0; row && depth < 64; row = row.parent ? byName.get(row.parent) : undefined, depth++) {
      if (row.name === context) return true;
    }
    return false;
  });
  const stamp = scope.map((c) => `${c.ctx}:${c.applied_seq}:${c.applied_off}`).join(',');
  let perStore = cache.get(store);
  if (!perStore) cache.set(store, (perStore = new Map()));
  const known = perStore.get(context);
  if (known && known.stamp === stamp) return known.links;

  const links: ConceptLinks = { clusters: new Map(), roles: new Map() };
  const own = byName.get(context);
  if (own) {
    for (const row of activeRows(store, own.ctx, 'cluster')) {
      const cluster = readEntity<ClusterRecord & { id: string }>(store, context, row);
      for (const [concept, strength] of Object.entries(cluster.members)) {
        let m = links.clusters.get(concept);
        if (!m) links.clusters.set(concept, (m = {}));
        m[cluster.id] = strength;
      }
    }
  }
  const roleSets = new Map<string, Set<string>>();
  for (const c of scope) {
    for (const row of activeRows(store, c.ctx, 'frame_instance')) {
      const inst = readEntity<FrameInstance>(store, c.name, row);
      for (const [element, concept] of Object.entries(inst.element_bindings)) {
        let s = roleSets.get(concept);
        if (!s) roleSets.set(concept, (s = new Set()));
        s.add(`${inst.frame_name}.${element}`);
      }
    }
  }
  for (const [concept, roles] of roleSets) links.roles.set(concept, [...roles].sort());
  perStore.set(context, { stamp, links });
  return links;
}

/** The record with its derived fields filled in from `links` (of the record's own context). */
export function withLinks<T extends ConceptRecord>(record: T, links: ConceptLinks): T {
  return { ...record, frame_roles: links.roles.get(record.id) ?? [], cluster_memberships: links.clusters.get(record.id) ?? {} };
}

/** Fills the derived fields of concepts read from any contexts, reading each context's links once. */
export function linkConcepts<T extends ConceptRecord>(store: EmbeddedStore, records: T[]): T[] {
  const per = new Map<string, ConceptLinks>();
  return records.map((r) => {
    let links = per.get(r.context);
    if (!links) per.set(r.context, (links = conceptLinks(store, r.context)));
    return withLinks(r, links);
  });
}

export function linkConcept<T extends ConceptRecord>(store: EmbeddedStore, record: T): T {
  return withLinks(record, conceptLinks(store, record.context));
}
