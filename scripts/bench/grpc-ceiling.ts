/**
 * Ceiling B: a bare grpc-js echo server (echo-server.ts) and client
 * (echo-client.ts), each in its own process like the real ingest, moving the
 * same request bytes with the same 5-call pattern, warm-up and 32 calls in
 * flight; best of BENCH_ROUNDS rounds, as for ingest (and interleaved with
 * its rounds when both run).
 * Then, one call in flight, the time to fetch a ListRecords page worth of
 * bytes (50 final-state runs plus per-record envelope): the transport's floor
 * under a page of 50.
 */
import { CALLS } from "./load.ts";
import { ROUNDS, RUNS, WARMUP, type ClientOut } from "./ingest.ts";
import {
  BUN,
  buildRunPool,
  fmtInt,
  fmtKB,
  fmtMB,
  fmtMs,
  IN_FLIGHT,
  MEASURE_END,
  MEASURE_START,
  procCpuSeconds,
  progress,
  ROOT,
  RssSampler,
  runChild,
  type BenchReport,
  type Lat,
} from "./lib.ts";

async function startEcho() {
  const proc = Bun.spawn([BUN, "scripts/bench/echo-server.ts"], { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  const { value } = await proc.stdout.getReader().read();
  const address = `127.0.0.1:${(JSON.parse(new TextDecoder().decode(value)) as { port: number }).port}`;
  const sampler = new RssSampler(proc.pid);
  return {
    pid: proc.pid,
    address,
    sampler,
    async stop() {
      sampler.stop();
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

export interface EchoRound {
  c: ClientOut;
  rate: number;
  serverCpu: number;
  clientCpu: number;
  hwmKiB: number;
}

export async function run(): Promise<BenchReport> {
  const rounds: EchoRound[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await echoRound(i));
  return echoReport(rounds);
}

/** One round, with a fresh echo server as ingest gets a fresh Hindsight per round. */
export async function echoRound(i: number): Promise<EchoRound> {
  const server = await startEcho();
  try {
    progress(`ceiling B round ${i + 1}/${ROUNDS}: echo server pid ${server.pid} on ${server.address}; ${RUNS} runs (+${WARMUP} warm-up), ${IN_FLIGHT} in flight`);
    let cpu0 = NaN;
    let cpu1 = NaN;
    const child = await runChild<ClientOut>(
      "scripts/bench/echo-client.ts",
      ["--address", server.address, "--runs", String(RUNS), "--warmup", String(WARMUP)],
      (line) => {
        if (line === MEASURE_START) cpu0 = procCpuSeconds(server.pid);
        if (line === MEASURE_END) cpu1 = procCpuSeconds(server.pid);
      },
    );
    const c = child.result;
    if (c.errors > 0) throw new Error(`echo: ${c.errors} calls failed, first: ${c.firstError}`);
    progress(`ceiling B round ${i + 1}: ${fmtInt(c.calls / c.seconds)} calls/s, p50 ${fmtMs(c.all.p50)} ms, p99 ${fmtMs(c.all.p99)} ms`);
    return { c, rate: c.calls / c.seconds, serverCpu: (cpu1 - cpu0) / c.seconds, clientCpu: child.windowCpuSeconds / c.seconds, hwmKiB: server.sampler.hwmKiB };
  } finally {
    await server.stop();
  }
}

export async function echoReport(rounds: EchoRound[]): Promise<BenchReport> {
  const best = rounds.reduce((a, b) => (b.rate > a.rate ? b : a));
  const c = best.c;
  // A page of 50: mean final-state run plus ~330 bytes of name, ids, times and etag per record.
  const finals = buildRunPool(1, 500).map((r) => r.stages[3]!.length);
  const pageBytes = Math.round(50 * (finals.reduce((x, y) => x + y, 0) / finals.length + 330));
  const server = await startEcho();
  let dl: { bytes: number; lat: Lat };
  try {
    dl = (await runChild<{ bytes: number; lat: Lat }>("scripts/bench/echo-client.ts", ["--address", server.address, "--download-bytes", String(pageBytes)])).result;
  } finally {
    await server.stop();
  }
  return {
    name: "grpc-ceiling",
    figures: { ceilingB: best.rate, ...Object.fromEntries(rounds.map((r, i) => [`round${i}`, r.rate])), p50: c.all.p50, p99: c.all.p99, pageFloorP50: dl.lat.p50 },
    tables: [
      {
        title: `Ceiling B: grpc-js echo, server and client in separate processes, ${IN_FLIGHT} calls in flight, Hindsight's request bytes`,
        headers: ["measure", "value"],
        rows: [
          ["calls/s, each round (best is reported)", rounds.map((r) => fmtInt(r.rate)).join(", ")],
          ["calls, best round", fmtInt(c.calls)],
          ["elapsed s, best round", c.seconds.toFixed(1)],
          ["**calls/s**", fmtInt(best.rate)],
          ["latency p50 / p99 / max ms", `${fmtMs(c.all.p50)} / ${fmtMs(c.all.p99)} / ${fmtMs(c.all.max)}`],
          ...CALLS.slice(0, 2).map((k) => [`  ${k}-sized call p50 / p99 ms`, `${fmtMs(c.summary[k]!.p50)} / ${fmtMs(c.summary[k]!.p99)}`]),
          ["echo server peak RSS MiB (VmHWM)", fmtMB(best.hwmKiB * 1024)],
          ["echo server CPU (cores busy, of 2)", best.serverCpu.toFixed(2)],
          ["client CPU (cores busy, of 2)", best.clientCpu.toFixed(2)],
          ["echo server CPU ms per call", ((best.serverCpu / best.rate) * 1000).toFixed(3)],
          [`page-sized answer (${fmtKB(pageBytes)} KiB) to a tiny request, 1 in flight: p50 / p99 ms`, `${fmtMs(dl.lat.p50)} / ${fmtMs(dl.lat.p99)}`],
        ],
      },
    ],
  };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
