/**
 * Cross-domain analogies between two semantic fields, found by relation alignment: if
 * king -> queen in the royalty field points the same way as ceo -> chairwoman in the business
 * field, then king:queen :: ceo:chairwoman, and {king: ceo, queen: chairwoman} is a mapping.
 *
 * Scoring (all vectors unit-normalized first, so only directions count):
 * - alignment of two relations = cos(a2 - a1, b2 - b1), in [-1, 1];
 * - structural score of a mapping {a_i -> b_i} = mean over pairs i < j of max(0, cos(a_j - a_i, b_j - b_i)):
 *   how consistently the mapping preserves the relations inside the fields;
 * - semantic score = mean over i of max(0, cos(a_i, b_i)): how alike mapped concepts are themselves;
 * - quality_score = w * structural + (1 - w) * semantic, with w = structuralWeight (default 0.7),
 *   in [0, 1]. Structure weighs most because cross-domain pairs are by nature semantically far apart.
 *
 * Search: every relation pair (a1,a2)~(b1,b2) with alignment >= minAlignment is a seed, ranked by
 * the quality of its two-concept mapping; from each of the best `seeds` seeds the mapping grows
 * greedily by the concept pair (x -> y) of highest mean alignment with the pairs mapped so far,
 * while that mean stays >= minAlignment, up to maxMappings. Mappings found twice, or contained in a
 * better one, are dropped. Order: quality descending, then the mapping's text, so it is stable.
 */
import { SoftlogicError } from '../core/errors.js';
import { normalize as unit } from '../embeddings/vector-math.js';

export interface FieldMember {
  id: string;
  vector: ArrayLike<number>;
}

export interface DomainField {
  /** Used as source_domain / target_domain of the analogies. */
  name: string;
  /** Strongest first: when there are more than maxMembers, the first ones are kept. */
  members: readonly FieldMember[];
}

export interface CrossDomainOptions {
  /** Analogies below this quality are dropped. Default 0.4. */
  minQuality?: number;
  /** Weight of the structural score in quality_score, in [0, 1]. Default 0.7. */
  structuralWeight?: number;
  /** Minimal relation alignment for a seed and for each concept added to a mapping. Default 0.3. */
  minAlignment?: number;
  /** Members per field considered, at most 60 (time and memory grow with its 4th power). Default 30. */
  maxMembers?: number;
  /** Concept pairs per analogy. Default 5. */
  maxMappings?: number;
  /** Seeds grown into analogies. Default 50. */
  seeds?: number;
  /** At most this many analogies are returned. Default 10. */
  maxAnalogies?: number;
}

export interface CrossDomainAnalogy {
  source_domain: string;
  target_domain: string;
  /** source concept id -> target concept id */
  concept_mappings: Record<string, string>;
  quality_score: number;
  metadata: {
    method: 'relation_alignment';
    structural_score: number;
    semantic_score: number;
    /** Number of relation pairs the structural score averages over (m(m-1)/2). */
    relation_pairs: number;
  };
}

interface Prepared {
  ids: string[];
  vecs: Float32Array[];
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

function prepare(field: DomainField, maxMembers: number, dim: number | undefined, role: string): Prepared {
  const seen = new Set<string>();
  const ids: string[] = [];
  const vecs: Float32Array[] = [];
  for (const m of field.members) {
    if (ids.length >= maxMembers) break;
    if (seen.has(m.id)) continue;
    if (dim !== undefined && m.vector.length !== dim) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `${role} field "${field.name}": vector of ${m.id} has ${m.vector.length} dimensions, expected ${dim}`, {
        field: field.name,
        id: m.id,
      });
    }
    seen.add(m.id);
    ids.push(m.id);
    vecs.push(unit(m.vector));
  }
  return { ids, vecs };
}

/** cos(a2 - a1, b2 - b1): how well the relation a1 -> a2 matches b1 -> b2 (0 for a null relation). */
export function relationAlignment(
  a1: ArrayLike<number>,
  a2: ArrayLike<number>,
  b1: ArrayLike<number>,
  b2: ArrayLike<number>,
): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a1.length; i++) {
    const x = a2[i] - a1[i];
    const y = b2[i] - b1[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function cos(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Unit relation vectors r(i -> j) for all ordered pairs, i != j, indexed i * n + j (zero when null). */
function relations(p: Prepared, dim: number): Float32Array[] {
  const n = p.ids.length;
  const out: Float32Array[] = new Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const r = new Float32Array(dim);
      if (i !== j) {
        let s = 0;
        for (let d = 0; d < dim; d++) {
          r[d] = p.vecs[j][d] - p.vecs[i][d];
          s += r[d] * r[d];
        }
        // Near-duplicate members give a relation of no direction; it aligns with nothing.
        if (s > 1e-12) for (let d = 0; d < dim; d++) r[d] /= Math.sqrt(s);
        else r.fill(0);
      }
      out[i * n + j] = r;
    }
  }
  return out;
}

interface Scored {
  mapping: [number, number][];
  quality: number;
  structural: number;
  semantic: number;
}

export function findCrossDomainAnalogies(
  source: DomainField,
  target: DomainField,
  options: CrossDomainOptions = {},
): CrossDomainAnalogy[] {
  const minQuality = options.minQuality ?? 0.4;
  const w = options.structuralWeight ?? 0.7;
  const minAlignment = options.minAlignment ?? 0.3;
  const maxMembers = options.maxMembers ?? 30;
  const maxMappings = options.maxMappings ?? 5;
  const seedCount = options.seeds ?? 50;
  const maxAnalogies = options.maxAnalogies ?? 10;
  for (const [name, v, lo, hi] of [
    ['minQuality', minQuality, 0, 1],
    ['structuralWeight', w, 0, 1],
    ['minAlignment', minAlignment, -1, 1],
  ] as const) {
    if (!(v >= lo && v <= hi)) throw new SoftlogicError('INVALID_INPUT', `${name} must be in [${lo}, ${hi}], got ${v}`);
  }
  for (const [name, v, lo] of [
    ['maxMembers', maxMembers, 2],
    ['maxMappings', maxMappings, 2],
    ['seeds', seedCount, 1],
    ['maxAnalogies', maxAnalogies, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < lo) throw new SoftlogicError('INVALID_INPUT', `${name} must be an integer >= ${lo}, got ${v}`);
  }
  if (maxMembers > 60) throw new SoftlogicError('INVALID_INPUT', `maxMembers must be at most 60, got ${maxMembers}`);
  const dim = source.members[0]?.vector.length ?? target.members[0]?.vector.length;
  if (dim === undefined) return [];
  const A = prepare(source, maxMembers, dim, 'source');
  const B = prepare(target, maxMembers, dim, 'target');
  const nA = A.ids.length;
  const nB = B.ids.length;
  if (nA < 2 || nB < 2) return [];

  const RA = relations(A, dim);
  const RB = relations(B, dim);
  // align[(i*nA + j) * nB*nB + (k*nB + l)] = cos(r_A(i->j), r_B(k->l)), only for i < j: the other
  // half follows from r(j->i) = -r(i->j), so cos(r_A(j->i), r_B(k->l)) = cos(r_A(i->j), r_B(l->k)).
  const nB2 = nB * nB;
  const align = new Float32Array(nA * nA * nB2);
  for (let i = 0; i < nA; i++) {
    for (let j = i + 1; j < nA; j++) {
      const ra = RA[i * nA + j];
      const base = (i * nA + j) * nB2;
      for (let q = 0; q < nB2; q++) align[base + q] = cos(ra, RB[q]);
    }
  }
  const alignOf = (i: number, j: number, k: number, l: number): number =>
    i < j ? align[(i * nA + j) * nB2 + k * nB + l] : align[(j * nA + i) * nB2 + l * nB + k];
  const sem = new Float64Array(nA * nB);
  for (let i = 0; i < nA; i++) for (let k = 0; k < nB; k++) sem[i * nB + k] = Math.max(0, cos(A.vecs[i], B.vecs[k]));
  // The same concept in both fields maps onto itself trivially; that is no analogy.
  const sameId = (i: number, k: number): boolean => A.ids[i] === B.ids[k];

  const score = (mapping: [number, number][]): Scored => {
    let structural = 0;
    let pairs = 0;
    for (let x = 0; x < mapping.length; x++) {
      for (let y = x + 1; y < mapping.length; y++) {
        structural += Math.max(0, alignOf(mapping[x][0], mapping[y][0], mapping[x][1], mapping[y][1]));
        pairs += 1;
      }
    }
    structural = pairs > 0 ? structural / pairs : 0;
    let semantic = 0;
    for (const [i, k] of mapping) semantic += sem[i * nB + k];
    semantic /= mapping.length;
    return { mapping, quality: w * structural + (1 - w) * semantic, structural, semantic };
  };

  // Seeds: (i -> k, j -> l) for i < j; ranked by their two-pair quality, ties by index order.
  const seeds: { i: number; j: number; k: number; l: number; q: number }[] = [];
  for (let i = 0; i < nA; i++) {
    for (let j = i + 1; j < nA; j++) {
      for (let k = 0; k < nB; k++) {
        if (sameId(i, k)) continue;
        for (let l = 0; l < nB; l++) {
          if (l === k || sameId(j, l)) continue;
          const a = alignOf(i, j, k, l);
          if (a < minAlignment) continue;
          const q = w * a + (1 - w) * ((sem[i * nB + k] + sem[j * nB + l]) / 2);
          seeds.push({ i, j, k, l, q });
        }
      }
    }
  }
  seeds.sort((x, y) => y.q - x.q || x.i - y.i || x.j - y.j || x.k - y.k || x.l - y.l);

  const found = new Map<string, Scored>();
  for (const s of seeds.slice(0, seedCount)) {
    const mapping: [number, number][] = [
      [s.i, s.k],
      [s.j, s.l],
    ];
    const usedA = new Set([s.i, s.j]);
    const usedB = new Set([s.k, s.l]);
    while (mapping.length < maxMappings) {
      let best: [number, number] | undefined;
      let bestAlign = -Infinity;
      let bestSem = -Infinity;
      for (let x = 0; x < nA; x++) {
        if (usedA.has(x)) continue;
        for (let y = 0; y < nB; y++) {
          if (usedB.has(y) || sameId(x, y)) continue;
          let a = 0;
          for (const [i, k] of mapping) a += alignOf(i, x, k, y);
          a /= mapping.length;
          const sm = sem[x * nB + y];
          // Strict comparisons keep the first (lowest-index) candidate on ties: deterministic.
          if (a > bestAlign || (a === bestAlign && sm > bestSem)) {
            best = [x, y];
            bestAlign = a;
            bestSem = sm;
          }
        }
      }
      if (!best || bestAlign < minAlignment) break;
      mapping.push(best);
      usedA.add(best[0]);
      usedB.add(best[1]);
    }
    const scored = score(mapping);
    const key = mapping
      .map(([i, k]) => `${A.ids[i]}\u0000${B.ids[k]}`)
      .sort()
      .join('\u0001');
    if (!found.has(key)) found.set(key, scored);
  }

  const ranked = [...found.entries()]
    .filter(([, s]) => s.quality >= minQuality)
    .sort(([ka, a], [kb, b]) => b.quality - a.quality || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const kept: Set<string>[] = [];
  const out: CrossDomainAnalogy[] = [];
  for (const [key, s] of ranked) {
    if (out.length >= maxAnalogies) break;
    const pairs = new Set(key.split('\u0001'));
    // A mapping wholly inside a better one adds nothing.
    if (kept.some((k) => [...pairs].every((p) => k.has(p)))) continue;
    kept.push(pairs);
    const concept_mappings: Record<string, string> = {};
    for (const [i, k] of [...s.mapping].sort((x, y) => x[0] - y[0])) concept_mappings[A.ids[i]] = B.ids[k];
    out.push({
      source_domain: source.name,
      target_domain: target.name,
      concept_mappings,
      quality_score: round6(Math.min(1, Math.max(0, s.quality))),
      metadata: {
        method: 'relation_alignment',
        structural_score: round6(s.structural),
        semantic_score: round6(s.semantic),
        relation_pairs: (s.mapping.length * (s.mapping.length - 1)) / 2,
      },
    });
  }
  return out;
}

/**
 * Completes a partial mapping for one more source concept ("king -> ceo, queen -> ?"): the target
 * members ranked by cosine to mean_i(b_i + (a - a_i)), i.e. the relation a_i -> a carried over
 * to each mapped b_i. Mapped targets are excluded. Returns up to k [id, cosine] pairs.
 */
export function suggestTarget(
  source: DomainField,
  target: DomainField,
  mappings: Record<string, string>,
  sourceId: string,
  k = 3,
): [string, number][] {
  const srcVec = new Map(source.members.map((m) => [m.id, unit(m.vector)]));
  const tgtVec = new Map(target.members.map((m) => [m.id, unit(m.vector)]));
  const a = srcVec.get(sourceId);
  if (!a) throw new SoftlogicError('NOT_FOUND', `"${sourceId}" is not a member of the source field "${source.name}"`);
  const pairs = Object.entries(mappings);
  if (pairs.length === 0) throw new SoftlogicError('INVALID_INPUT', 'suggestTarget needs at least one known mapping');
  const query = new Float32Array(a.length);
  for (const [ai, bi] of pairs) {
    const av = srcVec.get(ai);
    const bv = tgtVec.get(bi);
    if (!av || !bv) throw new SoftlogicError('NOT_FOUND', `mapping ${ai} -> ${bi} names a concept outside the fields`);
    for (let d = 0; d < query.length; d++) query[d] += (bv[d] + a[d] - av[d]) / pairs.length;
  }
  const q = unit(query);
  const mapped = new Set(pairs.map(([, b]) => b));
  return [...tgtVec.entries()]
    .filter(([id]) => !mapped.has(id))
    .map(([id, v]): [string, number] => [id, round6(cos(q, v))])
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .slice(0, k);
}
