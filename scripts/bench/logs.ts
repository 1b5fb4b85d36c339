/**
 * Logs: capture throughput from the fake API server into storage, stored
 * bytes per raw byte for realistic build output, and GetLog streaming speed
 * and time to first byte, over REST and gRPC.
 *
 * The fake cluster (test/support/fake-kube.ts) runs in this process with one
 * TaskRun whose step container has written BENCH_LOGS_MB of build output
 * and ended (test/support/build-log.ts, phases of clone, dependencies, compile,
 * tests, image build); the real server (`bun src/main.ts serve
 * --watch-config`, log capture on) runs in its own process and follows the
 * container. Capture speed is the stored byte count (polled read-only from
 * the database every 20 ms) over the time from the first stored byte to the
 * last. Storage is compressed chunk bytes / raw bytes, and the database
 * file's growth / raw bytes after the server's clean stop. GetLog: the whole
 * log read BENCH_LOGS_ROUNDS times over REST and gRPC (best reported), and
 * the time to first byte of 30 requests (p50, p90).
 *
 * Knobs: BENCH_LOGS_MB (100), BENCH_LOGS_ROUNDS (3).
 */
import { Database } from "bun:sqlite";
import * as grpc from "@grpc/grpc-js";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Logs } from "../../src/gen/api_pb.ts";
import type { HttpBody } from "../../src/gen/google/api/httpbody_pb.ts";
import { buildLog } from "../../test/support/build-log.ts";
import { FakeKube } from "../../test/support/fake-kube.ts";
import { makeClient } from "../../test/support/grpc-client.ts";
import { writeKubeconfig } from "../../test/support/kubeconfig.ts";
import { PodRun } from "../../test/support/log-sim.ts";
import { BENCH_DATA, dbBytes, fmtMB, fmtMs, progress, startServer, summarize, type BenchReport, type Goal, type Table } from "./lib.ts";

const MB = Number(process.env.BENCH_LOGS_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_LOGS_ROUNDS ?? 3);
const GOAL_CAPTURE = 50;
const GOAL_STORAGE = 0.25;
const GOAL_TTFB = 20;
const PREFIX = "[build] ";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readRest(url: string): Promise<{ bytes: number; ttfb: number; ms: number }> {
  const t0 = performance.now();
  const resp = await fetch(url);
  if (resp.status !== 200) throw new Error(`GET ${url}: ${resp.status} ${await resp.text()}`);
  let ttfb = NaN;
  let bytes = 0;
  for await (const c of resp.body!) {
    if (bytes === 0) ttfb = performance.now() - t0;
    bytes += c.byteLength;
  }
  return { bytes, ttfb, ms: performance.now() - t0 };
}

async function firstByteRest(url: string): Promise<number> {
  const t0 = performance.now();
  const resp = await fetch(url);
  const reader = resp.body!.getReader();
  await reader.read();
  const ms = performance.now() - t0;
  await reader.cancel();
  return ms;
}

function readGrpc(client: grpc.Client, name: string, stopAfterFirst = false): Promise<{ bytes: number; ttfb: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const call = (client as unknown as { getLog(r: object): grpc.ClientReadableStream<HttpBody> }).getLog({ name });
    let bytes = 0;
    let ttfb = NaN;
    call.on("data", (m: HttpBody) => {
      if (bytes === 0) ttfb = performance.now() - t0;
      bytes += m.data.byteLength;
      if (stopAfterFirst) call.cancel();
    });
    call.on("error", (e: grpc.ServiceError) => (stopAfterFirst && e.code === grpc.status.CANCELLED ? resolve({ bytes, ttfb, ms: performance.now() - t0 }) : reject(e)));
    call.on("end", () => resolve({ bytes, ttfb, ms: performance.now() - t0 }));
  });
}

export async function run(): Promise<BenchReport> {
  const dir = join(BENCH_DATA, "logs");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, "logs.db");

  progress(`logs: generating ${MB} MB of build output`);
  const sample = Buffer.from(buildLog(6, 16 * 1024 * 1024));
  const fake = await new FakeKube({ tokens: ["bench"] }).start();
  const run = new PodRun(fake, { ns: "ci", name: "big-build", steps: ["build"] }).create().startPod().start("step-build");
  let raw = 0;
  let lines = 0;
  for (let i = 0; raw < MB * 1024 * 1024; i++) {
    // Whole 1 MiB slices of the sample, so every append ends a line.
    const from = (i * 1024 * 1024) % sample.length;
    let to = Math.min(from + 1024 * 1024, sample.length);
    to = sample.lastIndexOf(10, to - 1) + 1;
    const part = sample.subarray(from, to);
    run.write("step-build", part);
    raw += part.length;
    for (let j = part.indexOf(10); j !== -1; j = part.indexOf(10, j + 1)) lines++;
  }
  const rendered = raw + lines * PREFIX.length;
  // The step has ended, its pod is still there (the common case upstream's
  // watcher meets too): capture reads to the end of the stream and stores
  // the last chunk at once. Following a running step reads the same way.
  run.end("step-build");
  const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "bench", server: fake.url, user: { token: "bench" } }]);
  const watchFile = join(dir, "watch.yaml");
  writeFileSync(watchFile, `clusters:\n  - name: bench\n    kubeconfig: ${JSON.stringify(kc)}\n    logs: true\n`);

  progress("logs: capture");
  const t0 = performance.now();
  const server = await startServer(dbPath, [], { serveArgs: ["--watch-config", watchFile], startTimeoutMs: 60_000 });
  const served = performance.now();
  const ro = new Database(dbPath, { readonly: true });
  ro.run("PRAGMA busy_timeout = 5000");
  const stored = ro.prepare<{ n: number }, []>("SELECT coalesce(sum(bytes), 0) AS n FROM log_parts");
  let tFirst = NaN;
  let tAll = NaN;
  const cpu0 = server.cpuSeconds();
  for (const deadline = Date.now() + 600_000; Date.now() < deadline; ) {
    const n = stored.get()?.n ?? 0;
    if (n > 0 && Number.isNaN(tFirst)) tFirst = performance.now();
    if (n >= raw) {
      tAll = performance.now();
      break;
    }
    await sleep(20);
  }
  const captureCpu = server.cpuSeconds() - cpu0;
  const capturePeak = server.sampler.peakRssKiB;
  run.finish();
  const url = `${server.http}/apis/results.tekton.dev/v1alpha2/parents/ci/results/${run.uid}/logs/${run.uid}`;
  for (let i = 0; i < 3000; i++) {
    const r = await fetch(url);
    await r.body?.cancel();
    if (r.status === 200) break;
    await sleep(20);
  }
  const sizes = ro.query<{ c: number; r: number; n: number }, []>("SELECT sum(length(data)) AS c, sum(raw_size) AS r, count(*) AS n FROM log_chunks").get()!;
  ro.close();
  const captureS = (tAll - tFirst) / 1000;
  const captureMBs = raw / 1048576 / captureS;

  progress("logs: GetLog");
  server.sampler.resetWindow();
  const client = makeClient(Logs, server.address);
  const name = `ci/results/${run.uid}/logs/${run.uid}`;
  const rest: Array<{ bytes: number; ttfb: number; ms: number }> = [];
  const viaGrpc: Array<{ bytes: number; ttfb: number; ms: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    rest.push(await readRest(url));
    viaGrpc.push(await readGrpc(client.raw, name));
  }
  for (const r of [...rest, ...viaGrpc]) if (r.bytes !== rendered) throw new Error(`GetLog returned ${r.bytes} bytes, expected ${rendered}`);
  const ttfbRest: number[] = [];
  const ttfbGrpc: number[] = [];
  for (let i = 0; i < 30; i++) {
    ttfbRest.push(await firstByteRest(url));
    ttfbGrpc.push((await readGrpc(client.raw, name, true)).ttfb);
  }
  client.close();
  const readPeak = server.sampler.peakRssKiB;
  await server.stop();
  await fake.stop();
  const fileBytes = dbBytes(dbPath).total;
  rmSync(dir, { recursive: true, force: true });

  const best = (xs: Array<{ ms: number }>) => Math.min(...xs.map((x) => x.ms));
  const mbs = (ms: number) => rendered / 1048576 / (ms / 1000);
  const tr = summarize(ttfbRest);
  const tg = summarize(ttfbGrpc);
  const ratio = sizes.c / sizes.r;
  const figures = { capture_mb_s: captureMBs, storage_ratio: ratio, file_ratio: fileBytes / raw, rest_mb_s: mbs(best(rest)), grpc_mb_s: mbs(best(viaGrpc)), ttfb_rest_p50: tr.p50, ttfb_grpc_p50: tg.p50 };
  const goals: Goal[] = [
    { goal: `log capture ≥ ${GOAL_CAPTURE} MB/s (fake API server → storage)`, measured: `${captureMBs.toFixed(0)} MB/s`, met: captureMBs >= GOAL_CAPTURE },
    { goal: `stored bytes ≤ ${GOAL_STORAGE} of raw for build logs`, measured: `${ratio.toFixed(3)} (chunks); ${(fileBytes / raw).toFixed(3)} (whole database file)`, met: ratio <= GOAL_STORAGE },
    { goal: `GetLog time to first byte ≤ ${GOAL_TTFB} ms`, measured: `p50 ${fmtMs(tr.p50)} ms REST, ${fmtMs(tg.p50)} ms gRPC`, met: Math.max(tr.p50, tg.p50) <= GOAL_TTFB },
  ];
  const tables: Table[] = [
    {
      title: `Logs: one ${fmtMB(raw)} MiB step log (${lines.toLocaleString("en-US")} lines of generated build output)`,
      headers: ["measure", "value"],
      rows: [
        ["capture: first to last byte stored", `${captureS.toFixed(2)} s = ${captureMBs.toFixed(0)} MB/s (server CPU ${(captureCpu / captureS).toFixed(2)} cores)`],
        ["capture: server spawn → last byte stored", `${((tAll - t0) / 1000).toFixed(2)} s (serving after ${((served - t0) / 1000).toFixed(2)} s)`],
        ["stored: compressed chunks / raw", `${ratio.toFixed(3)} (${fmtMB(sizes.c)} of ${fmtMB(sizes.r)} MiB in ${sizes.n} chunks, zstd level 3)`],
        ["stored: database file / raw", `${(fileBytes / raw).toFixed(3)} (${fmtMB(fileBytes)} MiB)`],
        ["GetLog REST, whole log (best of rounds)", `${mbs(best(rest)).toFixed(0)} MB/s (${rest.map((r) => mbs(r.ms).toFixed(0)).join(", ")})`],
        ["GetLog gRPC, whole log (best of rounds)", `${mbs(best(viaGrpc)).toFixed(0)} MB/s (${viaGrpc.map((r) => mbs(r.ms).toFixed(0)).join(", ")})`],
        ["time to first byte, REST p50 / p90 ms", `${fmtMs(tr.p50)} / ${fmtMs(tr.p90)}`],
        ["time to first byte, gRPC p50 / p90 ms", `${fmtMs(tg.p50)} / ${fmtMs(tg.p90)}`],
        ["server peak RSS: capture / reading", `${fmtMB(capturePeak * 1024)} / ${fmtMB(readPeak * 1024)} MiB`],
      ],
      note:
        `Rendered log (with "${PREFIX.trim()}" prefixes) is ${fmtMB(rendered)} MiB; MB/s are MiB of it per second. ` +
        "Fake API server and client share the 2 cores with the server; the fake's log was written before the server started, so capture reads it at wire speed.",
    },
  ];
  return { name: "logs", tables, goals, figures };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
