/**
 * Hindsight ingest through gRPC: the real server (`bun src/main.ts serve`) in
 * one process on a fresh database, the load client (ingest-client.ts) in
 * another, 32 calls in flight, 5 writes per simulated run. Reports writes/s,
 * latency per call, the server's peak RSS (VmRSS sampled every 100 ms and the
 * kernel's VmHWM) and CPU, and database bytes per record after the server's
 * clean stop has checkpointed the WAL.
 *
 * BENCH_ROUNDS rounds (default 3), each with a fresh server and database; the
 * fastest round is reported (interference on a shared machine only slows a
 * round down), peak RSS is the highest of all rounds. When ceiling B runs in
 * the same `bun run bench`, index.ts alternates their rounds (B, ingest, B,
 * ingest, ...) so both see the same machine.
 */
import { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CALLS } from "./load.ts";
import {
  BENCH_DATA,
  dbBytes,
  fmtInt,
  fmtKB,
  fmtMB,
  fmtMs,
  IN_FLIGHT,
  MEASURE_END,
  MEASURE_START,
  progress,
  runChild,
  startServer,
  type BenchReport,
  type Lat,
} from "./lib.ts";

export const RUNS = Number(process.env.BENCH_INGEST_RUNS ?? 8000);
/** Bun's JIT needs a few thousand calls before throughput settles. */
export const WARMUP = Number(process.env.BENCH_INGEST_WARMUP ?? 1000);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MAX_SECONDS = Number(process.env.BENCH_INGEST_MAX_SECONDS ?? 90);

export interface ClientOut {
  runs: number;
  calls: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  summary: Record<string, Lat>;
  all: Lat;
}

export interface IngestRound {
  c: ClientOut;
  writesPerSec: number;
  serverCpu: number;
  clientCpu: number;
  idleRssKiB: number;
  peakRssKiB: number;
  hwmKiB: number;
  records: number;
  results: number;
  payloadBytes: number;
  dbBytes: number;
}

/** One round: fresh database and server, one client run. */
export async function ingestRound(i: number, serverArgs: string[] = []): Promise<IngestRound> {
  const dir = join(BENCH_DATA, "tmp-ingest");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = join(dir, "h.db");
  // BENCH_PROFILE=1: the server writes a CPU profile (Markdown) to bench-data/profiles on exit.
  const profArgs = process.env.BENCH_PROFILE
    ? ["--cpu-prof-md", `--cpu-prof-dir=${join(BENCH_DATA, "profiles")}`, `--cpu-prof-name=ingest-server-${i + 1}.md`]
    : [];
  const server = await startServer(db, [...profArgs, ...serverArgs]);
  progress(`ingest round ${i + 1}/${ROUNDS}: server pid ${server.pid} on ${server.address}; ${RUNS} runs (+${WARMUP} warm-up), ${IN_FLIGHT} in flight`);
  const idle = server.sampler.sample()!;
  // Server CPU over the measured window only (the client marks it on stderr).
  let cpuStart = NaN;
  let cpuEnd = NaN;
  const child = await runChild<ClientOut>(
    "scripts/bench/ingest-client.ts",
    ["--address", server.address, "--runs", String(RUNS), "--warmup", String(WARMUP), "--max-seconds", String(MAX_SECONDS)],
    (line) => {
      if (line === MEASURE_START) cpuStart = server.cpuSeconds();
      if (line === MEASURE_END) cpuEnd = server.cpuSeconds();
    },
  );
  const peakRssKiB = server.sampler.peakRssKiB;
  const hwmKiB = server.sampler.hwmKiB;
  const code = await server.stop();
  if (code !== 0) throw new Error(`server exited with ${code}`);
  const c = child.result;
  if (c.errors > 0) throw new Error(`ingest: ${c.errors} calls failed, first: ${c.firstError}`);

  const sq = new Database(db, { readonly: true });
  const count = sq.query<{ records: number; results: number; payload: number }, []>(
    "SELECT (SELECT count(*) FROM records) AS records, (SELECT count(*) FROM results) AS results, (SELECT sum(length(data)) FROM records) AS payload",
  ).get()!;
  sq.close();
  const size = dbBytes(db).total;
  rmSync(dir, { recursive: true, force: true });
  const r: IngestRound = {
    c,
    writesPerSec: c.calls / c.seconds,
    serverCpu: (cpuEnd - cpuStart) / c.seconds,
    clientCpu: child.windowCpuSeconds / c.seconds,
    idleRssKiB: idle.rssKiB,
    peakRssKiB,
    hwmKiB,
    records: count.records,
    results: count.results,
    payloadBytes: count.payload,
    dbBytes: size,
  };
  progress(`ingest round ${i + 1}: ${fmtInt(r.writesPerSec)} writes/s, p50 ${fmtMs(c.all.p50)} ms, p99 ${fmtMs(c.all.p99)} ms, server peak RSS ${fmtMB(hwmKiB * 1024)} MiB`);
  return r;
}

export async function run(opts: { serverArgs?: string[] } = {}): Promise<BenchReport> {
  const rounds: IngestRound[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await ingestRound(i, opts.serverArgs ?? []));
  return ingestReport(rounds);
}

export function ingestReport(rounds: IngestRound[]): BenchReport {
  const best = rounds.reduce((a, b) => (b.writesPerSec > a.writesPerSec ? b : a));
  const peak = Math.max(...rounds.map((r) => Math.max(r.peakRssKiB, r.hwmKiB)));
  const c = best.c;
  return {
    name: "ingest",
    figures: { writesPerSec: best.writesPerSec, ...Object.fromEntries(rounds.map((r, i) => [`round${i}`, r.writesPerSec])), p50: c.all.p50, p99: c.all.p99, peakRssKiB: peak, bytesPerRecord: best.dbBytes / best.records },
    tables: [
      {
        title: `Hindsight ingest over gRPC (server and client in separate processes, ${IN_FLIGHT} calls in flight)`,
        headers: ["measure", "value"],
        rows: [
          ["writes/s, each round (best is reported)", rounds.map((r) => fmtInt(r.writesPerSec)).join(", ")],
          [`simulated runs per round (5 writes each; ${fmtInt(WARMUP)} warm-up runs excluded)`, fmtInt(c.runs)],
          ["writes (RPCs), best round", fmtInt(c.calls)],
          ["elapsed s, best round", c.seconds.toFixed(1)],
          ["**writes/s**", fmtInt(best.writesPerSec)],
          ["latency p50 / p99 / max ms, all calls", `${fmtMs(c.all.p50)} / ${fmtMs(c.all.p99)} / ${fmtMs(c.all.max)}`],
          ["server RSS idle → peak MiB, all rounds (VmRSS samples, VmHWM)", `${fmtMB(best.idleRssKiB * 1024)} → ${fmtMB(peak * 1024)}`],
          ["server CPU (cores busy, of 2)", best.serverCpu.toFixed(2)],
          ["client CPU (cores busy, of 2)", best.clientCpu.toFixed(2)],
          ["server CPU ms per write", ((best.serverCpu / best.writesPerSec) * 1000).toFixed(3)],
          ["records / results in the database", `${fmtInt(best.records)} / ${fmtInt(best.results)}`],
          ["database bytes per record (file after checkpoint / records)", `${fmtKB(best.dbBytes / best.records)} KiB`],
          ["stored JSONB bytes per record (mean)", `${fmtKB(best.payloadBytes / best.records)} KiB`],
        ],
      },
      {
        title: "Ingest latency per call, best round (ms)",
        headers: ["call", "n", "p50", "p90", "p99", "max"],
        rows: CALLS.map((k) => {
          const l = c.summary[k]!;
          return [k, fmtInt(l.n), fmtMs(l.p50), fmtMs(l.p90), fmtMs(l.p99), fmtMs(l.max)];
        }),
      },
    ],
  };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
