/**
 * A 53-bit hash of an id (two 32-bit FNV-1a style lanes), a safe JavaScript integer and a
 * compact SQLite integer key. Not cryptographic: lookups compare the id text as well.
 */
export function idHash(id: string): number {
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
