import { LIMITS } from '../../core/limits.js';
import type { StagingTarget } from '../../core/staged-put.js';
import type { StagedLines } from '../../core/staged-lines.js';
import { EXPORTED_ABSENT, exportedPutPrefix, FRESH_PUT_PREFIX, GIVEN_PUT_PREFIX, verbatimHead, verbatimTail, type ExportedMerge } from '../../core/staged-put.js';
import { timeMs } from '../../core/analogy-columns.js';

/**
 * The fast path of staging an analogy line: a byte scanner that validates the common line (an
 * object of exactly the seven content fields, in plain ASCII) and writes its staged verbatim put
 * (see encodeVerbatimPut) straight from the line's bytes, without building a string, a parse
 * tree or the index array as objects. Parsing and validating with JSON.parse and the schema cost
 * more than everything else staging does.
 *
 * It only ever says yes to a line the general path (JSON.parse, then the zod schema) accepts and
 * stages the same way, and answers "not mine" for anything else: non-ASCII bytes, escapes in the
 * fields it reads, missing or extra or repeated fields, out-of-range values, keys that JavaScript
 * objects would reorder. The general path then decides, with its exact messages. The differential
 * test (test/stage-fast.test.ts) holds the two paths to that.
 */

const MAX_FRAME_KEYS = 32;

const Q = 0x22; // "
const BACKSLASH = 0x5c;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Scanner state: the line is data[0, end) once set; positions are absolute. */
let data: Buffer = Buffer.alloc(0);
let end = 0;

/**
 * Points the scanner's functions (exported for the original system's lines, stage-legacy.ts) at
 * the line ending at `stop`, with no object keys open.
 */
export function scanOver(line: Buffer, stop: number): void {
  data = line;
  end = stop;
  openKeyCount = 0;
}

export function skipWs(p: number): number {
  while (p < end && isWs(data[p])) p++;
  return p;
}

/** A string without escapes, of printable ASCII: the index after its closing quote, or -1. */
export function plainString(p: number): number {
  if (data[p] !== Q) return -1;
  for (let i = p + 1; i < end; i++) {
    const c = data[i];
    if (c === Q) return i + 1;
    if (c < 0x20 || c >= 0x7f || c === BACKSLASH) return -1;
  }
  return -1;
}

/** Any JSON string of ASCII bytes (escapes checked): the index after it, or -1. */
function anyString(p: number): number {
  if (data[p] !== Q) return -1;
  for (let i = p + 1; i < end; i++) {
    const c = data[i];
    if (c === Q) return i + 1;
    if (c < 0x20 || c >= 0x7f) return -1;
    if (c === BACKSLASH) {
      const e = data[++i];
      if (e === 0x75 /* u */) {
        for (let k = 1; k <= 4; k++) if (!isHex(data[i + k])) return -1;
        i += 4;
      } else if (e !== Q && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return -1;
      }
    }
  }
  return -1;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A JSON number (the grammar exactly): the index after it, or -1. */
export function number(p: number): number {
  if (data[p] === 0x2d) p++;
  if (data[p] === 0x30) p++;
  else if (data[p] >= 0x31 && data[p] <= 0x39) while (isDigit(data[p])) p++;
  else return -1;
  if (data[p] === 0x2e) {
    p++;
    if (!isDigit(data[p])) return -1;
    while (isDigit(data[p])) p++;
  }
  if (data[p] === 0x65 || data[p] === 0x45) {
    p++;
    if (data[p] === 0x2b || data[p] === 0x2d) p++;
    if (!isDigit(data[p])) return -1;
    while (isDigit(data[p])) p++;
  }
  return p > end ? -1 : p;
}

function literal(p: number, text: string): number {
  for (let k = 0; k < text.length; k++) if (data[p + k] !== text.charCodeAt(k)) return -1;
  return p + text.length;
}

/** Any JSON value: the index after it, or -1. */
function value(p: number, depth: number): number {
  const c = data[p];
  if (c === Q) return anyString(p);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) return container(p, depth + 1);
  if (c === 0x74) return literal(p, 'true');
  if (c === 0x66) return literal(p, 'false');
  if (c === 0x6e) return literal(p, 'null');
  const q = number(p);
  // 1e999 parses to Infinity, which the general path refuses: not ours.
  return q >= 0 && !finiteNumber(p, q) ? -1 : q;
}

/** Whether the number data[p, q) is finite once parsed (only long ones or ones with an exponent can overflow). */
export function finiteNumber(p: number, q: number): boolean {
  if (q - p < 300) {
    let exponent = false;
    for (let i = p; i < q && !exponent; i++) exponent = data[i] === 0x65 || data[i] === 0x45;
    if (!exponent) return true;
  }
  return Number.isFinite(Number(data.toString('latin1', p, q)));
}

/** Keys of the objects open in metadata (spans), to refuse a repeated key: JSON.parse would keep one. */
const openKeys = new Int32Array(512);
let openKeyCount = 0;

/** Adds the key data[p, q) to the object whose keys start at `base`; false if repeated, escaped or too many. */
export function newKey(base: number, p: number, q: number): boolean {
  for (let i = p + 1; i < q - 1; i++) if (data[i] === BACKSLASH) return false;
  for (let j = base; j < openKeyCount; j += 2) if (sameBytes(openKeys[j], openKeys[j + 1], p, q)) return false;
  if (openKeyCount === openKeys.length) return false;
  openKeys[openKeyCount++] = p;
  openKeys[openKeyCount++] = q;
  return true;
}

function container(p: number, depth: number): number {
  if (depth > LIMITS.depth) return -1;
  const object = data[p] === 0x7b;
  const close = object ? 0x7d : 0x5d;
  const base = openKeyCount;
  p = skipWs(p + 1);
  if (data[p] === close) return p + 1;
  for (;;) {
    if (object) {
      const k = p;
      p = anyString(p);
      if (p < 0 || !newKey(base, k, p)) return -1;
      p = skipWs(p);
      if (data[p] !== 0x3a /* : */) return -1;
      p = skipWs(p + 1);
    }
    p = value(p, depth);
    if (p < 0) return -1;
    p = skipWs(p);
    if (data[p] === close) {
      openKeyCount = base;
      return p + 1;
    }
    if (data[p] !== 0x2c /* , */) return -1;
    p = skipWs(p + 1);
  }
}

/** Whether data[a, b) holds the ASCII text. */
export function bytesAre(a: number, b: number, text: string): boolean {
  if (b - a !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (data[a + k] !== text.charCodeAt(k)) return false;
  return true;
}

function sameBytes(a: number, b: number, c: number, d: number): boolean {
  if (b - a !== d - c) return false;
  for (let k = 0; k < b - a; k++) if (data[a + k] !== data[c + k]) return false;
  return true;
}

/** A text of 1..max characters, as a quoted span [p, q): its length is q - p - 2. */
export function lengthOk(p: number, q: number, max: number): boolean {
  return q - p - 2 >= 1 && q - p - 2 <= max;
}

/**
 * A key JavaScript keeps in text order and treats as plain data: not an array index (those are
 * enumerated first, in numeric order) and not `__proto__`.
 */
export function ordinaryKey(p: number, q: number): boolean {
  return !isDigit(data[p + 1]) && !bytesAre(p, q, '"__proto__"');
}

// Spans of the fields the staged line is built from.
let source0 = 0;
let source1 = 0;
let target0 = 0;
let target1 = 0;
let quality0 = 0;
let quality1 = 0;
let tags0 = 0;
let tags1 = 0;
let tagCount = 0;
const frameKeys = new Int32Array(MAX_FRAME_KEYS * 2);
let frameCount = 0;

/** A map of short texts (concept_mappings, frame_mappings): the index after it, or -1. */
function stringMap(p: number, frames: boolean): number {
  if (data[p] !== 0x7b) return -1;
  p = skipWs(p + 1);
  if (frames) frameCount = 0;
  const mapBase = openKeyCount;
  if (data[p] === 0x7d) return p + 1;
  for (;;) {
    const k = plainString(p);
    if (k < 0 || !lengthOk(p, k, LIMITS.shortText) || !ordinaryKey(p, k)) return -1;
    if (frames) {
      // A repeated key would be one key to JSON.parse: leave that to the general path.
      if (frameCount === MAX_FRAME_KEYS) return -1;
      for (let j = 0; j < frameCount; j++) if (sameBytes(frameKeys[2 * j], frameKeys[2 * j + 1], p, k)) return -1;
      frameKeys[2 * frameCount] = p;
      frameKeys[2 * frameCount + 1] = k;
      frameCount++;
    } else if (!newKey(mapBase, p, k)) {
      return -1; // concept_mappings: the same (plain keys, so byte equality is key equality)
    }
    p = skipWs(k);
    if (data[p] !== 0x3a) return -1;
    p = skipWs(p + 1);
    const v = plainString(p);
    if (v < 0 || !lengthOk(p, v, LIMITS.shortText)) return -1;
    p = skipWs(v);
    if (data[p] === 0x7d) return p + 1;
    if (data[p] !== 0x2c) return -1;
    p = skipWs(p + 1);
  }
}

/** The tags array, written without whitespace (so its text is JSON.stringify's): the index after it, or -1. */
function tagArray(p: number): number {
  if (data[p] !== 0x5b) return -1;
  tags0 = p;
  tagCount = 0;
  p += 1;
  if (data[p] === 0x5d) {
    tags1 = p + 1;
    return tags1;
  }
  for (;;) {
    const q = plainString(p);
    if (q < 0 || !lengthOk(p, q, LIMITS.tagLength) || ++tagCount > LIMITS.tags) return -1;
    if (data[q] === 0x5d) {
      tags1 = q + 1;
      return tags1;
    }
    if (data[q] !== 0x2c) return -1;
    p = q + 1;
  }
}

const FIELDS = ['source_domain', 'target_domain', 'quality_score', 'concept_mappings', 'frame_mappings', 'tags', 'metadata'];

/** Which field the quoted key data[p, q) names (its index in FIELDS), or -1. */
function fieldOf(p: number, q: number): number {
  for (let f = 0; f < FIELDS.length; f++) if (q - p - 2 === FIELDS[f].length && bytesAre(p + 1, q - 1, FIELDS[f])) return f;
  return -1;
}

/** The id a line gives: data[id0, id1), or id0 = -1. */
let id0 = -1;
let id1 = -1;
const ID_HEAD = '{"id":"';

/** An id's character (names.ts's ID_PATTERN); `first`: the first one, which is not . : or -. */
export function isIdChar(c: number, first: boolean): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) return true;
  return !first && (c === 0x2e || c === 0x3a || c === 0x2d);
}

/**
 * A line may give its id first, written exactly `{"id":"<id>",` (analogy-record.ts's
 * membersAfterId: the same rule): where its other members begin, or -1 if it gives none this way.
 */
function leadingId(open: number): number {
  if (!bytesAre(open, open + ID_HEAD.length, ID_HEAD)) return -1;
  let p = open + ID_HEAD.length;
  const first = p;
  while (p < end && p - first <= 256 && isIdChar(data[p], p === first)) p++;
  if (p === first || p - first > 256 || data[p] !== Q || data[p + 1] !== 0x2c) return -1;
  id0 = first;
  id1 = p;
  return p + 2;
}

/** Scans the line's object; its span [start, close) when it is a line of the fast path, else -1. */
function scanLine(from: number): number {
  let p = skipWs(from);
  if (data[p] !== 0x7b) return -1;
  const open = p;
  let seen = 0;
  id0 = -1;
  const members = leadingId(open);
  p = skipWs(members >= 0 ? members : p + 1);
  for (;;) {
    const k = plainString(p);
    if (k < 0) return -1;
    const f = fieldOf(p, k);
    if (f < 0 || seen & (1 << f)) return -1;
    seen |= 1 << f;
    p = skipWs(k);
    if (data[p] !== 0x3a) return -1;
    p = skipWs(p + 1);
    const v0 = p;
    switch (f) {
      case 0:
      case 1:
        p = plainString(p);
        if (p < 0 || !lengthOk(v0, p, LIMITS.shortText)) return -1;
        if (f === 0) [source0, source1] = [v0, p];
        else [target0, target1] = [v0, p];
        break;
      case 2: {
        // A minus sign could only be -0, which the general path would store as 0.
        if (data[p] === 0x2d) return -1;
        p = number(p);
        if (p < 0) return -1;
        const q = Number(data.toString('latin1', v0, p));
        if (!(q >= 0 && q <= 1)) return -1;
        [quality0, quality1] = [v0, p];
        break;
      }
      case 3:
      case 4:
        p = stringMap(p, f === 4);
        break;
      case 5:
        p = tagArray(p);
        break;
      default:
        // metadata is level 2 of the record (LIMITS.depth counts the record as level 1)
        p = data[p] === 0x7b ? container(p, 2) : -1;
    }
    if (p < 0) return -1;
    p = skipWs(p);
    if (data[p] === 0x7d) {
      const close = p + 1;
      if (seen !== (1 << FIELDS.length) - 1 || skipWs(close) !== end) return -1;
      return open;
    }
    if (data[p] !== 0x2c) return -1;
    p = skipWs(p + 1);
  }
}

/** The bytes every staged line of one target shares, encoded once (a one-entry cache). */
interface TargetParts {
  target: StagingTarget | null;
  /** `{"op":"put","fresh":true,"index":["` */
  head: Buffer;
  /** `",1,` after the id */
  afterId: Buffer;
  /** `,<created ms>,<workflow id JSON>,` after the quality */
  afterQuality: Buffer;
  /** the record's length less the input's members and the id (see stageAnalogyValue's size check) */
  recordExtra: number;
}
const parts: TargetParts = { target: null, head: Buffer.from(`${FRESH_PUT_PREFIX}["`), afterId: Buffer.from('",1,'), afterQuality: Buffer.alloc(0), recordExtra: 0 };
const GIVEN_HEAD = Buffer.from(`${GIVEN_PUT_PREFIX}["`);
const INPUT_KEY = Buffer.from('],"input":');
const NULL = Buffer.from('null');

function partsFor(target: StagingTarget): TargetParts {
  if (parts.target !== target) {
    parts.afterQuality = Buffer.from(`,${timeMs(target.now)},${JSON.stringify(target.workflowId)},`);
    parts.recordExtra = verbatimHead('', target).length + verbatimTail(target).length;
    parts.target = target;
  }
  return parts;
}

/** Writes data[p, q), a quoted string without escapes, as a JSON string holding that text. */
function putQuoted(out: StagedLines, p: number, q: number): void {
  out.putByte(Q);
  for (let i = p; i < q; i++) {
    if (data[i] === Q) out.putByte(BACKSLASH);
    out.putByte(data[i]);
  }
  out.putByte(Q);
}

/**
 * The index array's columns from source_domain to the frame names (the line scanned last), with
 * `afterQuality` (`,<created ms>,<workflow id JSON>,`) between the quality and the tags.
 */
function putIndexColumns(out: StagedLines, line: Buffer, afterQuality: Buffer): void {
  out.putBytes(line, source0, source1);
  out.putByte(0x2c);
  out.putBytes(line, target0, target1);
  out.putByte(0x2c);
  out.putBytes(line, quality0, quality1);
  out.putBytes(afterQuality, 0, afterQuality.length);
  if (tagCount === 0) out.putBytes(NULL, 0, NULL.length);
  else putQuoted(out, tags0, tags1);
  out.putByte(0x2c);
  if (frameCount === 0) {
    out.putBytes(NULL, 0, NULL.length);
  } else {
    // JSON.stringify of the frame names: ["k1","k2"], itself as a JSON string.
    out.putByte(Q);
    out.putByte(0x5b);
    for (let j = 0; j < frameCount; j++) {
      if (j > 0) out.putByte(0x2c);
      out.putByte(BACKSLASH);
      out.putBytes(line, frameKeys[2 * j], frameKeys[2 * j + 1] - 1);
      out.putByte(BACKSLASH);
      out.putByte(Q);
    }
    out.putByte(0x5d);
    out.putByte(Q);
  }
}

/**
 * Stages line[start, stop) (no newline) as a fresh verbatim put of a new id (or, for a line that
 * gives its id first, a verbatim put of that id: GIVEN_PUT_PREFIX) if it is a line of the fast
 * path; false leaves it to the general path (which also refuses invalid lines).
 */
export function stageLineFast(line: Buffer, start: number, stop: number, target: StagingTarget, mintId: () => string, out: StagedLines): boolean {
  if (stop - start > LIMITS.recordBytes) return false;
  data = line;
  end = stop;
  openKeyCount = 0;
  const open = scanLine(start);
  if (open < 0) return false;
  const close = skipWsBack(stop);
  const given = id0 >= 0;
  // The input's members without its id: `{` and what follows the id's comma.
  const members = given ? id1 + 2 : open + 1;
  const p = partsFor(target);
  // The stored record is head + the input's members + tail: the general path's size limit.
  if (p.recordExtra + (given ? id1 - id0 : 36) + close - members - 1 > LIMITS.recordBytes) return false;
  const at = out.begin();
  if (given) {
    out.putBytes(GIVEN_HEAD, 0, GIVEN_HEAD.length);
    out.putBytes(line, id0, id1);
  } else {
    out.putBytes(p.head, 0, p.head.length);
    out.putText(mintId());
  }
  out.putBytes(p.afterId, 0, p.afterId.length);
  putIndexColumns(out, line, p.afterQuality);
  out.putBytes(INPUT_KEY, 0, INPUT_KEY.length);
  out.putByte(0x7b);
  out.putBytes(line, members, close);
  out.putByte(0x7d);
  out.end(at);
  return true;
}

function skipWsBack(p: number): number {
  while (p > 0 && isWs(data[p - 1])) p--;
  return p;
}

/** The bytes every exported put of one staging time, context and merge strategy shares (a one-entry cache). */
const exported = { key: '', head: Buffer.alloc(0), afterQuality: Buffer.alloc(0), recordHead: Buffer.from('],"record":{"id":"'), tail: Buffer.alloc(0) };
/** The fields a bare analogy line lacks (its record is stored with the staging time and version 1). */
const BARE_ABSENT = EXPORTED_ABSENT.version | EXPORTED_ABSENT.created_at | EXPORTED_ABSENT.updated_at;

function exportedParts(now: string, context: string, merge: ExportedMerge): typeof exported {
  const key = `${now}\0${context}\0${merge}`;
  if (exported.key !== key) {
    exported.head = Buffer.from(`${exportedPutPrefix(merge, BARE_ABSENT)}["`);
    exported.afterQuality = Buffer.from(`,${timeMs(now)},null,`);
    exported.tail = Buffer.from(`,"workflow_id":null,"deleted_at":null,"context":${JSON.stringify(context)},"version":1,"created_at":"${now}","updated_at":"${now}"}}`);
    exported.key = key;
  }
  return exported;
}

/**
 * The fast path of a knowledge import's bare analogy line (knowledge-block.ts): a line this
 * scanner accepts that gives its id first (`{"id":"<id>",` and the seven content fields) is
 * staged as the exported put the general path stages for it (knowledge-lines.ts's
 * stagedKnowledgeJson: the record as given, then workflow_id and deleted_at null, the context,
 * version 1 and the staging time), its members copied as they are. False: not such a line (a
 * line without an id, one of more than LIMITS.recordBytes / 8 bytes, which a number's canonical
 * form could take over the limit, or any line stageLineFast would refuse): the general path's.
 */
export function stageExportedLineFast(line: Buffer, start: number, stop: number, now: string, context: string, merge: ExportedMerge, out: StagedLines): boolean {
  if (stop - start > LIMITS.recordBytes / 8) return false;
  data = line;
  end = stop;
  openKeyCount = 0;
  if (scanLine(start) < 0 || id0 < 0) return false;
  // The members after the id, without the closing brace.
  const close = skipWsBack(stop) - 1;
  const p = exportedParts(now, context, merge);
  const at = out.begin();
  out.putBytes(p.head, 0, p.head.length);
  out.putBytes(line, id0, id1);
  out.putBytes(parts.afterId, 0, parts.afterId.length);
  putIndexColumns(out, line, p.afterQuality);
  out.putBytes(p.recordHead, 0, p.recordHead.length);
  out.putBytes(line, id0, close);
  out.putBytes(p.tail, 0, p.tail.length);
  out.end(at);
  return true;
}
