import { randomBytes } from 'node:crypto';
import { hexValue } from './checksum.js';

/**
 * Ids and their index keys. Index keys are 53-bit integers (safe in JavaScript, 8 bytes in
 * SQLite). For ids this store mints, UUIDv7 (time-ordered, RFC 9562), the key is the id's own
 * time and counter bits, so new rows append at the right edge of the id index instead of landing
 * on a random page: at a million rows that is the difference between a cheap and an expensive
 * insert. Any other id is hashed (two 32-bit FNV-1a style lanes). Keys are not unique: lookups
 * compare the id text as well.
 */
/**
 * The key of a UUIDv7 (`xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx`, lower case), or -1 for any
 * other text: 41 low bits of its millisecond time (69 years), then the 12-bit counter of rand_a.
 */
function uuid7Key(id: string): number {
  if (id.length !== 36) return -1;
  let ms = 0;
  let counter = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return -1;
      continue;
    }
    const d = hexValue(c);
    if (d < 0 || (i === 14 && d !== 7) || (i === 19 && (d < 8 || d > 11))) return -1;
    if (i < 13) ms = ms * 16 + d;
    else if (i >= 15 && i < 18) counter = counter * 16 + d;
  }
  return (ms % 2 ** 41) * 4096 + counter;
}

export function idHash(id: string): number {
  const key = uuid7Key(id);
  if (key >= 0) return key;
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 2097152 + ((b >>> 0) & 0x1fffff);
}

let lastMs = 0;
let counter = 0;
let msHex = '';
// Random hex is drawn in bulk: one randomBytes call per id costs more than the rest of it.
let pool = '';
let poolAt = 0;

function random16Hex(): string {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(8 * 4096).toString('hex');
    poolAt = 0;
  }
  poolAt += 16;
  return pool.slice(poolAt - 16, poolAt);
}

const VARIANT = ['8', '9', 'a', 'b'];

/** A new UUIDv7, monotonic within this process (a 12-bit counter per millisecond). */
export function mintId(): string {
  const ms = Date.now();
  if (ms <= lastMs) {
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = 0;
      msHex = lastMs.toString(16).padStart(12, '0');
    }
  } else {
    lastMs = ms;
    counter = 0;
    msHex = ms.toString(16).padStart(12, '0');
  }
  const tail = random16Hex();
  const variant = VARIANT[parseInt(tail[0], 16) & 3];
  return `${msHex.slice(0, 8)}-${msHex.slice(8, 12)}-7${counter.toString(16).padStart(3, '0')}-${variant}${tail.slice(1, 4)}-${tail.slice(4, 16)}`;
}
