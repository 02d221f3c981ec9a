/**
 * Reads a staged fresh put's index array (analogyIndexColumns, as JSON.stringify writes it)
 * from its bytes, into spans and numbers instead of strings: the chunk encoder turns each text
 * into a number of a per-chunk table (BytesInterner) by its bytes, and makes a string only for
 * a text it has not seen in the chunk. JSON.parse would build nine values per item, most of
 * them strings already seen thousands of times.
 *
 * Anything not in the form JSON.stringify gives (whitespace, an unexpected type, an id that is
 * not plain ASCII) returns null: the caller then decodes the array with JSON.parse.
 */

const Q = 0x22;
const BACKSLASH = 0x5c;

/** A JSON string's span [start, end), quotes included; start < 0 for null. */
export interface TextSpan {
  start: number;
  end: number;
  /** whether its bytes differ from its text (escapes, non-ASCII): then decode with JSON.parse */
  escaped: boolean;
}

export interface IndexArray {
  /** the id's characters (plain ASCII, quotes excluded) */
  idStart: number;
  idEnd: number;
  version: number;
  source: TextSpan;
  target: TextSpan;
  quality: number;
  created: number;
  workflow: TextSpan;
  tags: TextSpan;
  frames: TextSpan;
  /** the index after the closing `]` */
  end: number;
}

const span = (): TextSpan => ({ start: -1, end: -1, escaped: false });
const parsed: IndexArray = { idStart: 0, idEnd: 0, version: 0, source: span(), target: span(), quality: 0, created: 0, workflow: span(), tags: span(), frames: span(), end: 0 };

/** The elements after the id, in order (analogyIndexColumns): version, source, target, quality, created, workflow, tags, frames. */
const LAYOUT = ['number', 'text', 'text', 'number', 'number', 'text or null', 'text or null', 'text or null'] as const;
const numbers = [0, 0, 0];
const spans = [parsed.source, parsed.target, parsed.workflow, parsed.tags, parsed.frames];

let data: Buffer = Buffer.alloc(0);
let limit = 0;

/** A JSON string at p into `out`: the index after it, or -1. */
function text(p: number, out: TextSpan): number {
  if (data[p] !== Q) return -1;
  let escaped = false;
  for (let i = p + 1; i < limit; i++) {
    const c = data[i];
    if (c === Q) {
      out.start = p;
      out.end = i + 1;
      out.escaped = escaped;
      return i + 1;
    }
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    } else if (c >= 0x80) {
      escaped = true;
    }
  }
  return -1;
}

function textOrNull(p: number, out: TextSpan): number {
  if (data[p] === 0x6e && data[p + 1] === 0x75 && data[p + 2] === 0x6c && data[p + 3] === 0x6c) {
    out.start = -1;
    out.end = -1;
    return p + 4;
  }
  return text(p, out);
}

let numberValue = 0;

/**
 * A JSON number at p into numberValue: the index after it, or -1. Plain decimals of at most 15
 * digits are computed here (digits / 10^k: both exact, and the division rounds correctly, so
 * the value is JSON.parse's); any other form goes through Number().
 */
function number(p: number): number {
  const start = p;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  let plain = true;
  for (; p < limit; p++) {
    const c = data[p];
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 0x2e && fraction < 0) {
      fraction = 0;
    } else if (c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d || c === 0x2e) {
      plain = false;
    } else {
      break;
    }
  }
  if (p === start) return -1;
  if (plain && digits <= 15 && fraction !== 0) numberValue = fraction > 0 ? mantissa / 10 ** fraction : mantissa;
  else numberValue = Number(data.toString('latin1', start, p));
  return Number.isNaN(numberValue) ? -1 : p;
}

function comma(p: number): number {
  return p >= 0 && data[p] === 0x2c ? p + 1 : -1;
}

/** Reads the index array starting at data[start] (its `[`), or null (see above). */
export function readIndexArray(bytes: Buffer, start: number, end: number): IndexArray | null {
  data = bytes;
  limit = end;
  if (data[start] !== 0x5b || data[start + 1] !== Q) return null;
  let p = start + 2;
  const idStart = p;
  for (; p < limit && data[p] !== Q; p++) if (data[p] === BACKSLASH || data[p] >= 0x80 || data[p] < 0x20) return null;
  if (p >= limit) return null;
  parsed.idStart = idStart;
  parsed.idEnd = p;
  p += 1;
  let n = 0;
  let t = 0;
  for (let f = 0; f < LAYOUT.length; f++) {
    p = comma(p);
    if (p < 0) return null;
    const kind = LAYOUT[f];
    if (kind === 'number') {
      p = number(p);
      numbers[n++] = numberValue;
    } else {
      p = kind === 'text' ? text(p, spans[t++]) : textOrNull(p, spans[t++]);
    }
    if (p < 0) return null;
  }
  parsed.version = numbers[0];
  parsed.quality = numbers[1];
  parsed.created = numbers[2];
  if (data[p] !== 0x5d) return null;
  parsed.end = p + 1;
  return parsed;
}

/** The text a span holds (null for a null span). */
export function spanText(bytes: Buffer, s: TextSpan): string | null {
  if (s.start < 0) return null;
  return s.escaped ? (JSON.parse(bytes.toString('utf8', s.start, s.end)) as string) : bytes.toString('latin1', s.start + 1, s.end - 1);
}

function sameBytes(key: Buffer | undefined, bytes: Buffer, start: number, end: number): boolean {
  if (key === undefined || key.length !== end - start) return false;
  for (let k = 0; k < key.length; k++) if (key[k] !== bytes[start + k]) return false;
  return true;
}

/**
 * Numbers the distinct texts of one chunk by their bytes: a text seen before costs a hash and a
 * compare of its bytes, and only a new one is decoded into a string (into `texts`).
 */
export class BytesInterner {
  private slots = new Int32Array(256).fill(-1);
  private readonly keys: Buffer[] = [];

  constructor(private readonly texts: string[]) {}

  /** The number of the text of span s in bytes (-1 for null). */
  intern(bytes: Buffer, s: TextSpan): number {
    if (s.start < 0) return -1;
    let h = 0x811c9dc5;
    for (let i = s.start; i < s.end; i++) h = Math.imul(h ^ bytes[i], 16777619);
    const mask = this.slots.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const at = this.slots[slot];
      if (at < 0) {
        const index = this.texts.push(spanText(bytes, s) as string) - 1;
        this.keys[index] = Buffer.from(bytes.subarray(s.start, s.end));
        this.slots[slot] = index;
        if (this.keys.length * 2 > this.slots.length) this.grow();
        return index;
      }
      if (sameBytes(this.keys[at], bytes, s.start, s.end)) return at;
    }
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    this.keys.forEach((key, index) => {
      if (key === undefined) return;
      let h = 0x811c9dc5;
      for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i], 16777619);
      let slot = h & mask;
      while (slots[slot] >= 0) slot = (slot + 1) & mask;
      slots[slot] = index;
    });
    this.slots = slots;
  }
}
