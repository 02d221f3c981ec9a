import { LIMITS } from '../../core/limits.js';
import { isoTimePattern } from '../../core/schemas.js';
import { timeMs } from '../../core/analogy-columns.js';
import type { StagedLines } from '../../core/staged-lines.js';
import { GIVEN_DATED_PUT_PREFIX, GIVEN_PUT_PREFIX, type StagingTarget } from '../../core/staged-put.js';
import { normaliseTime } from './legacy-record.js';
import { bytesAre, finiteNumber, isIdChar, lengthOk, newKey, number, ordinaryKey, plainString, scanOver, skipWs } from './stage-fast.js';

/**
 * The fast path of the original system's analogy lines, as its analogies.jsonl holds them:
 * `{"type": "analogy", "workflow_id": ..., "id": ..., "created_at": ..., "source_pair": [...],
 * "target_pair": [...], "context": ..., "quality_score": ..., "reasoning": ...}` (Python's
 * separators, no domains). A byte scanner (stage-fast.ts's functions) validates such a line and
 * writes the staged given-id put the general path (analogy-record.ts's normaliseLegacyShape,
 * legacy-record.ts's legacyAnalogyRecord, the schema, buildAnalogy, JSON.stringify) makes of
 * it, without JSON.parse, the schema or the record as an object: that path costs ~10x the plain
 * line's fast path on such a line.
 *
 * It takes a line only when it can write exactly that record: `type` "analogy", an id the schema
 * accepts, and besides those only workflow_id, created_at (in the schema's form, or the SQLite
 * form `YYYY-MM-DD HH:MM:SS`), a quality_score in [0, 1], `context` and fields outside the
 * schema, each a plain ASCII string (no escapes), a finite number, true, false, null or a flat
 * array of those (their canonical JSON is then their bytes, less whitespace, numbers as
 * JavaScript writes them). Domains, mappings, tags, metadata, the other concept fields the
 * general path derives mappings from, repeated keys, keys JavaScript would reorder, anything
 * else: "not mine", and the general path decides, with its exact messages. The differential
 * test (test/stage-legacy.test.ts) holds the two paths to the same staged items.
 */

const Q = 0x22;
const MAX_MEMBERS = 64;
const MAX_ELEMENTS = 64;

/** Fields the scanner places itself: type, workflow_id, id, created_at, quality_score (0-4), or -1. */
function ownField(k0: number, k1: number): number {
  const field = OWN_BY_LENGTH[k1 - k0 - 2];
  return field !== undefined && bytesAre(k0 + 1, k1 - 1, OWN[field]) ? field : -1;
}
const OWN = ['type', 'workflow_id', 'id', 'created_at', 'quality_score'];
/** Their indices by name length (each length names one). */
const OWN_BY_LENGTH: Array<number | undefined> = [];
OWN.forEach((name, i) => (OWN_BY_LENGTH[name.length] = i));
/**
 * Keys the general path treats specially (any other schema field leaves the line to it too):
 * schema fields (record fields, not metadata.legacy) and the flags it writes into
 * metadata.legacy itself (a field of that name would be overwritten in its place).
 */
const NOT_LEGACY = [
  'source_domain', 'target_domain', 'concept_mappings', 'frame_mappings', 'tags', 'metadata', 'updated_at', 'version', 'deleted_at',
  'concept_mappings_derived', 'source_domain_missing', 'target_domain_missing', 'quality_missing', 'original_id', 'id_missing', 'invalid', 'sqlite_metadata', 'raw', 'unplaceable',
];
/**
 * The fields legacy-record.ts's derivedMappings makes concept_mappings of, in its order: pairs of
 * (source, target) fields, the first pair of arrays, the others of single texts.
 */
const PAIR_FIELDS = ['source_pair', 'target_pair', 'source_concept', 'target_concept', 'source_a', 'target_a', 'source_b', 'target_b'];

/** Names by length, for a lookup of a key's bytes without making it a string. */
function byLength(names: string[]): string[][] {
  const out: string[][] = [];
  for (const name of names) (out[name.length] ??= []).push(name);
  return out;
}
const NOT_LEGACY_BY_LENGTH = byLength(NOT_LEGACY);
const PAIRS_BY_LENGTH = byLength(PAIR_FIELDS);

/** Which of `names` (byLength's) the quoted key data[k0, k1) is, or null. */
function named(k0: number, k1: number, names: string[][]): string | null {
  const candidates = names[k1 - k0 - 2];
  if (candidates === undefined) return null;
  for (const name of candidates) if (bytesAre(k0 + 1, k1 - 1, name)) return name;
  return null;
}

// A value's spans: [start, end) of each scalar, the value itself or an array's elements.
const enum Kind {
  String = 0,
  Number = 1,
  Literal = 2,
}

/** One member kept under metadata.legacy: key span, value kind (-1: a scalar; n >= 0: an array of n elements), and where its scalars lie in `scalars`. */
interface Member {
  key0: number;
  key1: number;
  elements: number;
  first: number;
}

const members: Member[] = Array.from({ length: MAX_MEMBERS }, () => ({ key0: 0, key1: 0, elements: -1, first: 0 }));
let memberCount = 0;
/** Scalars as triples: start, end, Kind. */
const scalars = new Int32Array(3 * MAX_MEMBERS * 4);
let scalarCount = 0;

let data: Buffer = Buffer.alloc(0);

/** A scalar at p (plain string, finite number, true/false/null): recorded; the index after it, or -1. */
function scalar(p: number): number {
  let q: number;
  let kind: Kind;
  const c = data[p];
  if (c === Q) {
    q = plainString(p);
    kind = Kind.String;
  } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
    q = -1;
    for (const word of ['true', 'false', 'null']) if (bytesAre(p, p + word.length, word)) q = p + word.length;
    kind = Kind.Literal;
  } else {
    q = number(p);
    if (q >= 0 && !finiteNumber(p, q)) q = -1;
    kind = Kind.Number;
  }
  if (q < 0 || scalarCount * 3 + 3 > scalars.length) return -1;
  scalars[scalarCount * 3] = p;
  scalars[scalarCount * 3 + 1] = q;
  scalars[scalarCount * 3 + 2] = kind;
  scalarCount += 1;
  return q;
}

/** A member's value (a scalar or a flat array of scalars), recorded in `m`: the index after it, or -1. */
function memberValue(p: number, m: Member): number {
  m.first = scalarCount;
  if (data[p] !== 0x5b) {
    m.elements = -1;
    return scalar(p);
  }
  m.elements = 0;
  p = skipWs(p + 1);
  if (data[p] === 0x5d) return p + 1;
  for (;;) {
    if (m.elements === MAX_ELEMENTS) return -1;
    p = scalar(p);
    if (p < 0) return -1;
    m.elements += 1;
    p = skipWs(p);
    if (data[p] === 0x5d) return p + 1;
    if (data[p] !== 0x2c) return -1;
    p = skipWs(p + 1);
  }
}

// The fields the scanner places itself: spans, or -1.
let wf = -1;
let id0 = -1;
let id1 = -1;
let created0 = -1;
let created1 = -1;
let quality0 = -1;
let quality1 = -1;
/** The member of each of PAIR_FIELDS, or -1. */
const pairMembers = new Int32Array(PAIR_FIELDS.length);
let typed = false;

/** An id the schema accepts (names.ts's ID_PATTERN) as the plain string data[p, q). */
function validId(p: number, q: number): boolean {
  if (q - p - 2 < 1 || q - p - 2 > 256) return false;
  for (let i = p + 1; i < q - 1; i++) if (!isIdChar(data[i], i === p + 1)) return false;
  return true;
}

/** The member whose key is data[k0, k1) and value starts at p: the index after its value, or -1. */
function member(k0: number, k1: number, p: number): number {
  const own = ownField(k0, k1);
  if (own === 0) {
    // type: "analogy" (a deletion, or another type, is the general path's)
    const q = plainString(p);
    if (q < 0 || !bytesAre(p, q, '"analogy"')) return -1;
    typed = true;
    return q;
  }
  if (own === 2) {
    const q = plainString(p);
    if (q < 0 || !validId(p, q)) return -1;
    id0 = p + 1;
    id1 = q - 1;
    return q;
  }
  if (own === 3) {
    const q = plainString(p);
    created0 = p + 1;
    created1 = q - 1;
    return q;
  }
  if (own === 4) {
    // A minus sign could only be -0, which the general path would store as 0; out of range is its too.
    if (data[p] === 0x2d) return -1;
    const q = number(p);
    // `0` or `0.<digits>` is in range (the common case, read without making it a string).
    if (q < 0 || (!(data[p] === 0x30 && canonicalNumber(p, q)) && !(Number(data.toString('latin1', p, q)) <= 1))) return -1;
    quality0 = p;
    quality1 = q;
    return q;
  }
  if (own < 0 && named(k0, k1, NOT_LEGACY_BY_LENGTH) !== null) return -1;
  // workflow_id (kept last under metadata.legacy), context and fields outside the schema.
  if (memberCount === MAX_MEMBERS) return -1;
  const m = members[memberCount];
  const q = memberValue(p, m);
  if (q < 0) return -1;
  m.key0 = k0;
  m.key1 = k1;
  if (own === 1) wf = memberCount;
  else {
    const pair = named(k0, k1, PAIRS_BY_LENGTH);
    if (pair !== null) pairMembers[PAIR_FIELDS.indexOf(pair)] = memberCount;
  }
  memberCount += 1;
  return q;
}

/** Scans the line's object; whether it is a line of this path (its fields then recorded). */
function scanLine(from: number, stop: number): boolean {
  memberCount = 0;
  scalarCount = 0;
  wf = id0 = id1 = created0 = created1 = quality0 = quality1 = -1;
  pairMembers.fill(-1);
  typed = false;
  let p = skipWs(from);
  if (data[p] !== 0x7b) return false;
  p = skipWs(p + 1);
  for (;;) {
    const k = plainString(p);
    if (k < 0 || !ordinaryKey(p, k) || !newKey(0, p, k)) return false;
    const k0 = p;
    p = skipWs(k);
    if (data[p] !== 0x3a) return false;
    p = member(k0, k, skipWs(p + 1));
    if (p < 0) return false;
    p = skipWs(p);
    if (data[p] === 0x7d) return skipWs(p + 1) === stop && typed && id0 >= 0;
    if (data[p] !== 0x2c) return false;
    p = skipWs(p + 1);
  }
}

/** concept_mappings derived from the pair fields, as (key, value) scalar indices. */
const derived = new Int32Array(2 * (MAX_ELEMENTS + 3));
let derivedCount = 0;

/** Whether scalar s is a text derivedMappings takes (a string of 1-512 characters). */
function pairText(s: number): boolean {
  return scalars[s * 3 + 2] === Kind.String && lengthOk(scalars[s * 3], scalars[s * 3 + 1], 512);
}

/**
 * Adds the mapping of scalar a to scalar b, as derivedMappings would (texts of 1-512 characters,
 * others skipped); false if its key is one JavaScript would reorder or given before (its first
 * place, its last value): the general path's.
 */
function addMapping(a: number, b: number): boolean {
  if (!pairText(a) || !pairText(b)) return true;
  const a0 = scalars[a * 3];
  const a1 = scalars[a * 3 + 1];
  if (!ordinaryKey(a0, a1)) return false;
  for (let j = 0; j < derivedCount; j++) {
    const c = derived[2 * j];
    if (data.compare(data, a0, a1, scalars[c * 3], scalars[c * 3 + 1]) === 0) return false;
  }
  derived[2 * derivedCount] = a;
  derived[2 * derivedCount + 1] = b;
  derivedCount += 1;
  return true;
}

/** legacy-record.ts's derivedMappings over the members (the line sets no concept_mappings); false: not this path's. */
function derive(): boolean {
  derivedCount = 0;
  const s = members[pairMembers[0]];
  const t = members[pairMembers[1]];
  if (pairMembers[0] >= 0 && pairMembers[1] >= 0 && s.elements >= 0 && t.elements >= 0) {
    for (let i = 0; i < s.elements && i < t.elements; i++) if (!addMapping(s.first + i, t.first + i)) return false;
  }
  for (let f = 2; f < PAIR_FIELDS.length; f += 2) {
    const a = members[pairMembers[f]];
    const b = members[pairMembers[f + 1]];
    // An array is not a text: skipped, as derivedMappings skips it.
    if (pairMembers[f] >= 0 && pairMembers[f + 1] >= 0 && a.elements < 0 && b.elements < 0 && !addMapping(a.first, b.first)) return false;
  }
  return true;
}

/** The bytes every staged line of one target shares (a one-entry cache). */
const parts = { target: null as StagingTarget | null, afterQuality: Buffer.alloc(0), head: Buffer.alloc(0), metaHead: Buffer.alloc(0), tail: Buffer.alloc(0), updated: Buffer.alloc(0), nowMs: '' };
const GIVEN = Buffer.from(`${GIVEN_PUT_PREFIX}["`);
const GIVEN_DATED = Buffer.from(`${GIVEN_DATED_PUT_PREFIX}["`);
const AFTER_ID = Buffer.from('",1,"unknown","unknown",');
const RECORD_ID = Buffer.from(',null,null],"record":{"id":"');
const DOMAINS = Buffer.from('"source_domain":"unknown","target_domain":"unknown","quality_score":');
const MAPPINGS = Buffer.from(',"concept_mappings":{');
const EMPTY_REST = Buffer.from('},"frame_mappings":{},"tags":[],"metadata":{"legacy":{');
const DERIVED = Buffer.from('"concept_mappings_derived":true,');
const MISSING = Buffer.from('"source_domain_missing":true,"target_domain_missing":true');
const QUALITY_MISSING = Buffer.from(',"quality_missing":true');

function partsFor(target: StagingTarget): typeof parts {
  if (parts.target !== target) {
    parts.head = Buffer.from(`","context":${JSON.stringify(target.context)},`);
    parts.afterQuality = Buffer.from(`,${JSON.stringify(target.workflowId)}`);
    parts.tail = Buffer.from(`}},"workflow_id":${JSON.stringify(target.workflowId)},"created_at":"`);
    parts.updated = Buffer.from(`","updated_at":"${target.now}","version":1,"deleted_at":null}}`);
    parts.nowMs = JSON.stringify(timeMs(target.now));
    parts.target = target;
  }
  return parts;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Whether the JSON number data[p, q) is written as JavaScript writes its value (so it is copied
 * as it is): no exponent, no -0, no trailing zero in a fraction, at most 15 significant digits
 * (which a double always gives back as written) and, below 1, fewer than six zeros after the
 * point (JavaScript writes 1e-7 with an exponent).
 */
function canonicalNumber(p: number, q: number): boolean {
  if (data[p] === 0x2d) p++;
  let i = p;
  while (i < q && isDigit(data[i])) i++;
  const integer = i - p;
  if (integer > 15 || (integer > 1 && data[p] === 0x30)) return false;
  if (i === q) return !(data[p] === 0x30 && data[p - 1] === 0x2d);
  if (data[i] !== 0x2e || data[q - 1] === 0x30) return false;
  let zeros = 0;
  if (data[p] === 0x30) while (data[i + 1 + zeros] === 0x30) zeros++;
  const fraction = q - i - 1;
  for (let k = i + 1; k < q; k++) if (!isDigit(data[k])) return false;
  return data[p] === 0x30 ? zeros <= 5 && fraction - zeros <= 15 : integer + fraction <= 15;
}

/** Writes the number data[p, q) as JSON.stringify writes it once parsed. */
function putNumber(out: StagedLines, p: number, q: number): void {
  if (canonicalNumber(p, q)) out.putBytes(data, p, q);
  else out.putText(String(Number(data.toString('latin1', p, q))));
}

/** Writes scalar `s` as JSON.stringify writes it once parsed. */
function putScalar(out: StagedLines, s: number): void {
  const p = scalars[s * 3];
  const q = scalars[s * 3 + 1];
  if (scalars[s * 3 + 2] === Kind.Number) putNumber(out, p, q);
  else out.putBytes(data, p, q);
}

/** The quality score, as the index column and the record hold it. */
function putQuality(out: StagedLines): void {
  if (quality0 < 0) out.putByte(0x30);
  else putNumber(out, quality0, quality1);
}

function putMember(out: StagedLines, m: Member): void {
  out.putBytes(data, m.key0, m.key1);
  out.putByte(0x3a);
  if (m.elements < 0) {
    putScalar(out, m.first);
    return;
  }
  out.putByte(0x5b);
  for (let i = 0; i < m.elements; i++) {
    if (i > 0) out.putByte(0x2c);
    putScalar(out, m.first + i);
  }
  out.putByte(0x5d);
}

const ISO_TIME = isoTimePattern();

/**
 * Stages line[start, stop) (no newline) as the given-id put the general path makes of it, if it
 * is an analogy line of the original system this path takes; false leaves it to the general path.
 */
export function stageLegacyLineFast(line: Buffer, start: number, stop: number, target: StagingTarget, out: StagedLines): boolean {
  if (stop - start > LIMITS.recordBytes) return false;
  scanOver(line, stop);
  data = line;
  if (!scanLine(start, stop) || !derive()) return false;
  let created: string | null = null;
  if (created0 >= 0) {
    created = line.toString('latin1', created0, created1);
    // The SQLite form, `YYYY-MM-DD HH:MM:SS`, is made ISO first.
    if (line[created0 + 10] === 0x20) created = normaliseTime(created) as string;
    if (!ISO_TIME.test(created)) return false;
  }
  const p = partsFor(target);
  const at = out.begin();
  out.putBytes(created === null ? GIVEN : GIVEN_DATED, 0, GIVEN.length);
  out.putBytes(line, id0, id1);
  out.putBytes(AFTER_ID, 0, AFTER_ID.length);
  putQuality(out);
  out.putByte(0x2c);
  out.putText(created === null ? p.nowMs : JSON.stringify(timeMs(created)));
  out.putBytes(p.afterQuality, 0, p.afterQuality.length);
  out.putBytes(RECORD_ID, 0, RECORD_ID.length);
  // The record, as buildAnalogy orders it and JSON.stringify writes it.
  const record = out.length - '{"id":"'.length;
  out.putBytes(line, id0, id1);
  out.putBytes(p.head, 0, p.head.length);
  out.putBytes(DOMAINS, 0, DOMAINS.length);
  putQuality(out);
  out.putBytes(MAPPINGS, 0, MAPPINGS.length);
  for (let j = 0; j < derivedCount; j++) {
    if (j > 0) out.putByte(0x2c);
    putScalar(out, derived[2 * j]);
    out.putByte(0x3a);
    putScalar(out, derived[2 * j + 1]);
  }
  out.putBytes(EMPTY_REST, 0, EMPTY_REST.length);
  // metadata.legacy: context and the fields outside the schema in line order, the flags, the original workflow_id.
  for (let i = 0; i < memberCount; i++) {
    if (i === wf) continue;
    putMember(out, members[i]);
    out.putByte(0x2c);
  }
  if (derivedCount > 0) out.putBytes(DERIVED, 0, DERIVED.length);
  out.putBytes(MISSING, 0, MISSING.length);
  if (quality0 < 0) out.putBytes(QUALITY_MISSING, 0, QUALITY_MISSING.length);
  if (wf >= 0) {
    out.putByte(0x2c);
    putMember(out, members[wf]);
  }
  out.putBytes(p.tail, 0, p.tail.length);
  if (created === null) out.putText(target.now);
  else if (line[created0 + 10] === 0x54 /* T: as given */) out.putBytes(line, created0, created1);
  else out.putText(created);
  out.putBytes(p.updated, 0, p.updated.length);
  // The record's size limit (LIMITS.recordBytes): over it, the general path refuses the line with its message.
  if (out.length - 1 - record > LIMITS.recordBytes) {
    out.length = at;
    return false;
  }
  out.end(at);
  return true;
}
