/**
 * A small seeded PRNG (mulberry32). Reasoning results must be reproducible run to run, so nothing
 * here uses Math.random; the same seed gives the same stream on every platform (pure 32-bit ops).
 */
export type Rng = () => number;

/** Default seed of every seeded computation in softlogic's reasoning. */
export const DEFAULT_SEED = 42;

/** Returns a function yielding floats in [0, 1). */
export function createRng(seed: number = DEFAULT_SEED): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
