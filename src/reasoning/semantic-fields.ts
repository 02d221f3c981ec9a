/**
 * From k-means clusters to cluster records and semantic fields (the record shapes of DESIGN.md).
 *
 * Pure: WordNet grounding comes in as an optional callback, so this module needs neither the store
 * nor the WordNet files, and a test can feed it any hierarchy.
 *
 * Naming a field: when at least half the members are WordNet-grounded, the field is named after
 * the deepest hypernym shared by at least `hypernymCoverage` of the grounded members and at least
 * `minHypernymDepth` below its root (so not entity.n.01 or abstraction.n.06, which say nothing);
 * otherwise after the member closest to the centroid (highest strength).
 */
import { SoftlogicError } from '../core/errors.js';
import type { KMeansResult } from './kmeans.js';

export interface ClusterRecord {
  cluster_id: string;
  name: string;
  centroid: number[];
  /** concept id -> strength (cosine to the centroid). */
  members: Record<string, number>;
  coherence_score: number;
  distinctiveness: number;
}

export interface SemanticField {
  name: string;
  /** The members that define the field: strength at least the cluster's coherence, strongest first. */
  core_concepts: string[];
  /** The other members, with their strength. */
  related_concepts: Record<string, number>;
  coherence: number;
  domain: string;
  /** The cluster the field comes from. */
  cluster_id: string;
  /** The WordNet synset the field is named after, when it was named from one. */
  hypernym?: string;
}

export interface FieldOptions {
  /** Fields whose coherence is below this are dropped (clusters are kept). Default 0. */
  minCoherence?: number;
  /** At most this many core concepts per field. Default 10. */
  maxCore?: number;
  /** Cluster ids are `${clusterPrefix}_${index}`. Default `cluster`. */
  clusterPrefix?: string;
  /** Every field's domain; default: the field's own name. */
  domain?: string;
  /** Display label of a concept id (default: the id itself). */
  labelOf?: (conceptId: string) => string;
  /**
   * Hypernym paths (root first, synset ids, as WordNet.hypernymPaths returns) of a concept's
   * synset, or undefined when the concept is not grounded.
   */
  hypernymPaths?: (conceptId: string) => string[][] | undefined;
  /** Share of grounded members a naming hypernym must cover. Default 0.6. */
  hypernymCoverage?: number;
  /** Minimal depth (root = 0) of a naming hypernym. Default 3. */
  minHypernymDepth?: number;
}

/** Stored figures are rounded to 6 decimals: float32 noise would otherwise show in every record. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function checkInput(ids: readonly string[], result: KMeansResult): void {
  if (ids.length !== result.n) {
    throw new SoftlogicError('INVALID_INPUT', `${ids.length} concept ids for ${result.n} clustered vectors`, {
      ids: ids.length,
      n: result.n,
    });
  }
}

/** Members of each cluster as [row index], strongest first, ties by id (deterministic). */
function membersByCluster(ids: readonly string[], result: KMeansResult): number[][] {
  const out: number[][] = Array.from({ length: result.k }, () => []);
  for (let i = 0; i < result.n; i++) out[result.assignments[i]].push(i);
  for (const rows of out) {
    rows.sort((a, b) => result.strengths[b] - result.strengths[a] || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
  }
  return out;
}

/** One cluster record per non-empty cluster, in cluster order. */
export function buildClusters(ids: readonly string[], result: KMeansResult, options: FieldOptions = {}): ClusterRecord[] {
  checkInput(ids, result);
  const prefix = options.clusterPrefix ?? 'cluster';
  const labelOf = options.labelOf ?? ((id: string) => id);
  const records: ClusterRecord[] = [];
  membersByCluster(ids, result).forEach((rows, c) => {
    if (rows.length === 0) return;
    const members: Record<string, number> = {};
    for (const i of rows) members[ids[i]] = round6(result.strengths[i]);
    records.push({
      cluster_id: `${prefix}_${c}`,
      name: labelOf(ids[rows[0]]),
      centroid: Array.from(result.centroids.subarray(c * result.dim, (c + 1) * result.dim), round6),
      members,
      coherence_score: round6(result.coherence[c]),
      distinctiveness: round6(result.distinctiveness[c]),
    });
  });
  return records;
}

/**
 * The deepest hypernym covering enough grounded members, or undefined. Depth of a synset is its
 * greatest index on any path (NLTK's max_depth), so a synset reached by a short and a long path
 * counts as deep.
 */
export function commonHypernym(
  memberIds: readonly string[],
  hypernymPaths: (conceptId: string) => string[][] | undefined,
  coverage = 0.6,
  minDepth = 3,
): string | undefined {
  const hits = new Map<string, number>();
  const depth = new Map<string, number>();
  let grounded = 0;
  for (const id of memberIds) {
    const paths = hypernymPaths(id);
    if (!paths || paths.length === 0) continue;
    grounded += 1;
    const seen = new Set<string>();
    for (const path of paths) {
      path.forEach((syn, d) => {
        depth.set(syn, Math.max(depth.get(syn) ?? 0, d));
        seen.add(syn);
      });
    }
    for (const syn of seen) hits.set(syn, (hits.get(syn) ?? 0) + 1);
  }
  if (grounded === 0 || grounded * 2 < memberIds.length) return undefined;
  let best: string | undefined;
  for (const [syn, count] of hits) {
    const d = depth.get(syn) ?? 0;
    if (count < coverage * grounded || d < minDepth) continue;
    if (best === undefined) {
      best = syn;
      continue;
    }
    const bd = depth.get(best) ?? 0;
    const bc = hits.get(best) ?? 0;
    if (d > bd || (d === bd && (count > bc || (count === bc && syn < best)))) best = syn;
  }
  return best;
}

/** `canine.n.02` -> `canine`, `ice_cream.n.01` -> `ice cream`. */
function synsetLabel(synsetId: string): string {
  const m = /^(.+)\.[nvasr]\.\d+$/.exec(synsetId);
  return (m ? m[1] : synsetId).replace(/_/g, ' ');
}

/** One semantic field per non-empty cluster with coherence >= minCoherence; names are made unique. */
export function semanticFields(ids: readonly string[], result: KMeansResult, options: FieldOptions = {}): SemanticField[] {
  checkInput(ids, result);
  const minCoherence = options.minCoherence ?? 0;
  const maxCore = options.maxCore ?? 10;
  if (!Number.isFinite(minCoherence)) throw new SoftlogicError('INVALID_INPUT', 'minCoherence must be a number');
  if (!Number.isInteger(maxCore) || maxCore < 1) {
    throw new SoftlogicError('INVALID_INPUT', `maxCore must be a positive integer, got ${maxCore}`);
  }
  const prefix = options.clusterPrefix ?? 'cluster';
  const labelOf = options.labelOf ?? ((id: string) => id);
  const used = new Map<string, number>();
  const fields: SemanticField[] = [];
  membersByCluster(ids, result).forEach((rows, c) => {
    const coherence = result.coherence[c];
    if (rows.length === 0 || coherence < minCoherence) return;
    const memberIds = rows.map((i) => ids[i]);
    const hypernym = options.hypernymPaths
      ? commonHypernym(memberIds, options.hypernymPaths, options.hypernymCoverage, options.minHypernymDepth)
      : undefined;
    let name = hypernym ? synsetLabel(hypernym) : labelOf(memberIds[0]);
    // Two clusters can share a label (e.g. two kinds of animal); a field name must still be unique.
    const n = (used.get(name) ?? 0) + 1;
    used.set(name, n);
    if (n > 1) name = `${name} ${n}`;
    const core: string[] = [];
    const related: Record<string, number> = {};
    for (const i of rows) {
      // Members arrive strongest first, so the first is always core: a field is never empty.
      if (core.length === 0 || (core.length < maxCore && result.strengths[i] >= coherence)) core.push(ids[i]);
      else related[ids[i]] = round6(result.strengths[i]);
    }
    const field: SemanticField = {
      name,
      core_concepts: core,
      related_concepts: related,
      coherence: round6(coherence),
      domain: options.domain ?? name,
      cluster_id: `${prefix}_${c}`,
    };
    if (hypernym) field.hypernym = hypernym;
    fields.push(field);
  });
  return fields;
}
