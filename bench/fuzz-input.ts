/**
 * `npm run bench -- fuzz-input [seconds] [seed]`: the input-parser fuzz (test/fuzz-input-harness.ts)
 * at length, round after round with fresh seeds until the time is up (default 60 s). Prints each
 * round's report and exits 1 on the first property failure.
 */
import { fuzzInputs } from '../test/fuzz-input-harness.js';

export default async function fuzzInput(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 60);
  let seed = Number(args[1] ?? Date.now() % 1_000_000);
  const deadline = Date.now() + seconds * 1000;
  let rounds = 0;
  let cases = 0;
  while (Date.now() < deadline) {
    const report = await fuzzInputs({ seed, cases: 2000, maxCaseMs: 2000 });
    rounds += 1;
    cases += Object.values(report.cases).reduce((s, n) => s + n, 0);
    console.log(JSON.stringify({ seed, ...report }));
    if (report.failures.length > 0) {
      console.error(`fuzz-input: property failed with seed ${seed}`);
      process.exit(1);
    }
    seed += 1;
  }
  console.log(JSON.stringify({ rounds, cases, seconds }));
}
