/**
 * Dot products of many matrix rows against many query vectors with WebAssembly SIMD (f32x4): the
 * one kernel JS cannot make fast by itself (V8 does not vectorise loops). Each step multiplies
 * 2 rows by 4 queries, 4 floats at a time, so every loaded value feeds several multiply-adds.
 *
 * The sums are float32 (about 1e-6 off for unit vectors of 100 dimensions): callers use them to
 * find the few candidates near the top and score those again exactly (analogy-eval.ts).
 *
 * The module is a few hundred bytes, emitted here rather than shipped as a binary, so that the
 * source is the only artefact; its layout:
 *   dots(xBase, nRows, rowBytes, qBase, nq, outBase, strideBytes)
 *     rows: nRows (even) rows of rowBytes (a multiple of 16) from xBase;
 *     queries: nq (a multiple of 4) in quads, a quad interleaved per 4 floats (q0[0..3] q1[0..3]
 *       q2[0..3] q3[0..3] q0[4..7] ...), so the four loads of a step are one 64-byte run;
 *     out: f32 at outBase + j * strideBytes + r * 4 for query j and row r.
 */

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const i32const = (n: number): number[] => [0x41, ...sleb(n)];
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_GE_U = 0x4f;
const I32_LT_U = 0x49;
const F32_ADD = 0x92;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];
const v128load = (offset: number): number[] => [0xfd, 0x00, 4, ...uleb(offset)];
const f32store = (offset: number): number[] => [0x38, 2, ...uleb(offset)];
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const F32X4_ADD = [0xfd, ...uleb(0xe4)];
const F32X4_MUL = [0xfd, ...uleb(0xe6)];
const lane = (i: number): number[] => [0xfd, 0x1f, i];

// params
const X_BASE = 0, N_ROWS = 1, ROW_BYTES = 2, Q_BASE = 3, NQ = 4, OUT_BASE = 5, STRIDE = 6;
// i32 locals
const R = 7, J = 8, XA = 9, XB = 10, QP = 11, D_END = 12, O = 13, Q_QUAD = 14;
// v128 locals: acc(row, k) = 15 + 2k + row, then the two row loads and the query load
const acc = (row: number, k: number): number => 15 + 2 * k + row;
const VX0 = 23, VX1 = 24, VQ = 25;

function body(): number[] {
  const c: number[] = [];
  const hsum = (a: number): number[] => [...get(a), ...lane(0), ...get(a), ...lane(1), F32_ADD, ...get(a), ...lane(2), F32_ADD, ...get(a), ...lane(3), F32_ADD];
  c.push(...i32const(0), ...set(R));
  c.push(...BLOCK, ...LOOP);
  c.push(...get(R), ...get(N_ROWS), I32_GE_U, ...brIf(1));
  c.push(...i32const(0), ...set(J), ...get(Q_BASE), ...set(Q_QUAD));
  c.push(...BLOCK, ...LOOP);
  c.push(...get(J), ...get(NQ), I32_GE_U, ...brIf(1));
  // xa = xBase + r * rowBytes; xb = xa + rowBytes (also where xa stops); qp = the quad's start
  c.push(...get(X_BASE), ...get(R), ...get(ROW_BYTES), I32_MUL, I32_ADD, ...set(XA));
  c.push(...get(XA), ...get(ROW_BYTES), I32_ADD, ...set(XB), ...get(XB), ...set(D_END), ...get(Q_QUAD), ...set(QP));
  for (let k = 0; k < 4; k++) for (let row = 0; row < 2; row++) c.push(...V128_ZERO, ...set(acc(row, k)));
  c.push(...LOOP);
  c.push(...get(XA), ...v128load(0), ...set(VX0), ...get(XB), ...v128load(0), ...set(VX1));
  for (let k = 0; k < 4; k++) {
    c.push(...get(QP), ...v128load(16 * k), ...set(VQ));
    c.push(...get(acc(0, k)), ...get(VX0), ...get(VQ), ...F32X4_MUL, ...F32X4_ADD, ...set(acc(0, k)));
    c.push(...get(acc(1, k)), ...get(VX1), ...get(VQ), ...F32X4_MUL, ...F32X4_ADD, ...set(acc(1, k)));
  }
  c.push(...get(XA), ...i32const(16), I32_ADD, ...set(XA));
  c.push(...get(XB), ...i32const(16), I32_ADD, ...set(XB));
  c.push(...get(QP), ...i32const(64), I32_ADD, ...set(QP));
  c.push(...get(XA), ...get(D_END), I32_LT_U, ...brIf(0), END);
  // The next quad starts where this one's last step ended.
  c.push(...get(QP), ...set(Q_QUAD));
  c.push(...get(OUT_BASE), ...get(J), ...get(STRIDE), I32_MUL, I32_ADD, ...get(R), ...i32const(4), I32_MUL, I32_ADD, ...set(O));
  for (let k = 0; k < 4; k++) {
    c.push(...get(O), ...hsum(acc(0, k)), ...f32store(0));
    c.push(...get(O), ...hsum(acc(1, k)), ...f32store(4));
    c.push(...get(O), ...get(STRIDE), I32_ADD, ...set(O));
  }
  c.push(...get(J), ...i32const(4), I32_ADD, ...set(J), ...br(0), END, END);
  c.push(...get(R), ...i32const(2), I32_ADD, ...set(R), ...br(0), END, END);
  c.push(END);
  return c;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'utf8')];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const code = body();
  const locals = [2, ...uleb(8), I32, ...uleb(11), V128];
  const fn = [...locals, ...code];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]),
    ...section(7, [2, ...name('dots'), 0x00, 0, ...name('mem'), 0x02, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
}

type DotsFn = (xBase: number, nRows: number, rowBytes: number, qBase: number, nq: number, outBase: number, strideBytes: number) => void;

export interface SimdDots {
  readonly memory: WebAssembly.Memory;
  readonly dots: DotsFn;
  /** Grows the memory to at least `bytes`; views taken before are stale afterwards. */
  reserve(bytes: number): void;
}

let instance: SimdDots | null | undefined;

/** The kernel, or null where WebAssembly SIMD is missing (callers then take their plain-JS path). */
export function simdDots(): SimdDots | null {
  if (instance !== undefined) return instance;
  const bytes = moduleBytes();
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return (instance = null);
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as { dots: DotsFn; mem: WebAssembly.Memory };
  const memory = exports.mem;
  instance = {
    memory,
    dots: exports.dots,
    reserve(n: number): void {
      const have = memory.buffer.byteLength;
      if (n > have) memory.grow(Math.ceil((n - have) / 65536));
    },
  };
  return instance;
}
