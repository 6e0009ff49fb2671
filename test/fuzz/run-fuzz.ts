import { startFuzzTarget } from './fuzz-target';
import { fuzz } from './property';

// `npm run fuzz`: the fuzzer of test/fuzz.test.ts for longer, with a fresh seed each time.
// FUZZ_RUNS (default 5000) requests; FUZZ_SEED (and FUZZ_PATH, printed with a counterexample)
// replays a failure.

const numRuns = Number(process.env.FUZZ_RUNS ?? 5000);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(numRuns) || numRuns < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not "${process.env.FUZZ_RUNS}"`);
if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not "${process.env.FUZZ_SEED}"`);

console.log(`fuzzing ${numRuns} requests with seed ${seed} (replay: FUZZ_SEED=${seed} npm run fuzz)`);
const target = await startFuzzTarget();
const started = Date.now();
try {
  await fuzz(target, { numRuns, seed, ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}) });
  console.log(`${numRuns} requests in ${((Date.now() - started) / 1000).toFixed(1)} s: no 5xx, every error well-formed, the server stayed up`);
  const seen = [...target.seen].sort(([a], [b]) => a.localeCompare(b));
  console.log(`answers seen:\n${seen.map(([kind, count]) => `  ${kind}: ${count}`).join('\n')}`);
} catch (error) {
  console.error((error as Error).message);
  console.error(`replay: FUZZ_SEED=${seed} npm run fuzz`);
  process.exitCode = 1;
} finally {
  await target.close();
}
