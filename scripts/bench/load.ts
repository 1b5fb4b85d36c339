/**
 * The load loop shared by the two gRPC client processes (Hindsight ingest and
 * the echo ceiling): `inFlight` workers, each running simulated runs one after
 * another (5 sequential calls per run), so `inFlight` calls are always in
 * flight. A warm-up of `warmup` runs at the same concurrency comes first and
 * is not measured; then `runs` runs, or fewer if `maxSeconds` runs out.
 */
import { MEASURE_END, MEASURE_START } from "./lib.ts";

export const CALLS = ["CreateResult", "CreateRecord", "UpdateRecord#1", "UpdateRecord#2", "UpdateRecord#3"] as const;

export interface LoadResult {
  runs: number;
  calls: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  /** Latency samples (ms) per call position. */
  lat: Record<string, number[]>;
}

export async function drive(opts: {
  runs: number;
  warmup: number;
  inFlight: number;
  maxSeconds: number;
  /** Performs call `k` (0..4) of run `i`. */
  call: (i: number, k: number) => Promise<unknown>;
  onProgress?: (doneRuns: number, seconds: number) => void;
}): Promise<LoadResult> {
  // Warm-up: runs 0 .. warmup-1, unmeasured; errors here are fatal.
  let next = 0;
  const warm = async () => {
    for (let i = next++; i < opts.warmup; i = next++) {
      for (let k = 0; k < CALLS.length; k++) await opts.call(i, k);
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, warm));

  const lat: Record<string, number[]> = Object.fromEntries(CALLS.map((c) => [c, []]));
  const end = opts.warmup + opts.runs;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  let lastReport = performance.now();
  next = opts.warmup;
  process.stderr.write(MEASURE_START + "\n");
  const t0 = performance.now();
  const deadline = t0 + opts.maxSeconds * 1000;
  const worker = async () => {
    for (let i = next++; i < end && performance.now() < deadline; i = next++) {
      for (let k = 0; k < CALLS.length; k++) {
        const s = performance.now();
        try {
          await opts.call(i, k);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
          break;
        }
        lat[CALLS[k]!]!.push(performance.now() - s);
      }
      done++;
      const now = performance.now();
      if (opts.onProgress && now - lastReport > 5000) {
        lastReport = now;
        opts.onProgress(done, (now - t0) / 1000);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(MEASURE_END + "\n");
  const calls = Object.values(lat).reduce((a, l) => a + l.length, 0);
  return { runs: done, calls, errors, firstError, seconds, lat };
}
