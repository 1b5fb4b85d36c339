/**
 * REST against gRPC and against the bare HTTP ceiling: GetRecord and
 * ListRecords (page_size 50) over 12 KB records, on one server.
 *
 * A small database is seeded afresh through the server's own write path (one
 * Result holding RECORDS records whose final-state JSON is 11-13 KB), then
 * the real server (`bun src/main.ts serve`) runs in its own process, and the
 * load client (rest-client.ts) in another, `IN_FLIGHT` calls at a time:
 *
 * - rest: fetch on keep-alive connections, each answer read in full;
 * - grpc: the same calls through grpc-js on the same server, answers decoded;
 * - ceiling: a bare Bun.serve (rest-ceiling-server.ts) answering the same
 *   URLs with the exact bytes Hindsight answered, so only HTTP is left.
 *
 * Rounds alternate ceiling, rest, grpc per call so a slow spell of the shared
 * machine hits all three; the best round of each is reported.
 *
 * Knobs: BENCH_REST_ROUNDS (2), BENCH_REST_SECONDS (4, measured per run),
 * BENCH_REST_WARMUP (2, seconds of unmeasured calls before each run: Bun's JIT
 * needs a few hundred list calls to settle), BENCH_REST_IN_FLIGHT (8),
 * BENCH_REST_RECORDS (200), BENCH_REST_ONLY (runs to make, e.g.
 * "list:rest,list:ceiling"; default all: list and get, each ceiling, rest,
 * grpc), BENCH_REST_SERVE_ARGS (extra `serve` flags, e.g.
 * "--record-cache-size 0" to measure every list reading and encoding its
 * records), BENCH_PROFILE=1 (the server writes a CPU profile, Markdown, to
 * bench-data/profiles on exit; profile one kind at a time with
 * BENCH_REST_ONLY).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { systemClock, uuidv7Generator } from "../../src/core/clock.ts";
import { ResultsService } from "../../src/core/results-service.ts";
import { closeDatabase, openDatabase } from "../../src/store/db.ts";
import { SqliteStore } from "../../src/store/sqlite-store.ts";
import {
  BENCH_DATA,
  BUN,
  buildRunPool,
  fmtInt,
  fmtKB,
  fmtMB,
  fmtMs,
  MEASURE_END,
  MEASURE_START,
  procCpuSeconds,
  progress,
  ROOT,
  runChild,
  startServer,
  type BenchReport,
  type Goal,
  type Lat,
  type Table,
} from "./lib.ts";

const ROUNDS = Number(process.env.BENCH_REST_ROUNDS ?? 2);
const SECONDS = Number(process.env.BENCH_REST_SECONDS ?? 4);
const IN_FLIGHT = Number(process.env.BENCH_REST_IN_FLIGHT ?? 8);
const RECORDS = Number(process.env.BENCH_REST_RECORDS ?? 200);
const WARMUP = Number(process.env.BENCH_REST_WARMUP ?? 2);
/** "op:kind" pairs to run; every pair when unset. */
const ONLY = process.env.BENCH_REST_ONLY ? new Set(process.env.BENCH_REST_ONLY.split(",").map((s) => s.trim())) : null;
const PAGE = 50;
const GOAL = 0.6;

interface ClientOut {
  calls: number;
  seconds: number;
  bytes: number;
  lat: Lat;
  /** CPU ms the answering server spent per call in the measured window (filled in here). */
  serverCpuMs: number;
}

/** Seeds RECORDS records of 11-13 KB under one Result; returns the record names and their mean size. */
export async function seed(path: string): Promise<{ result: string; names: string[]; meanBytes: number }> {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  const pool = buildRunPool(11, RECORDS * 8)
    .map((r) => ({ type: r.type, value: r.stages[3]! }))
    .filter((r) => r.value.length >= 11_000 && r.value.length <= 13_000)
    .slice(0, RECORDS);
  if (pool.length < RECORDS) throw new Error(`rest: only ${pool.length} generated runs of 11-13 KB`);
  const db = openDatabase(path);
  const store = new SqliteStore(db);
  const svc = new ResultsService(store, systemClock, uuidv7Generator(systemClock));
  const result = "bench/results/rest";
  await svc.createResult("bench", { name: result, annotations: {}, summary: null });
  const names: string[] = [];
  await Promise.all(
    pool.map((r, i) => {
      const name = `${result}/records/run-${String(i).padStart(4, "0")}`;
      names.push(name);
      return svc.createRecord(result, { name, data: r });
    }),
  );
  store.close();
  closeDatabase(db);
  return { result, names, meanBytes: pool.reduce((n, r) => n + r.value.length, 0) / pool.length };
}

async function startCeiling(bodiesFile: string) {
  const proc = Bun.spawn([BUN, "scripts/bench/rest-ceiling-server.ts", "--bodies", bodiesFile], { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  const { value } = await proc.stdout.getReader().read();
  const port = (JSON.parse(new TextDecoder().decode(value)) as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** One client run; the server's CPU time is read from /proc at the window's marks. */
async function client(serverPid: number, args: string[]): Promise<ClientOut> {
  let c0 = NaN;
  let c1 = NaN;
  const { result } = await runChild<ClientOut>(
    "scripts/bench/rest-client.ts",
    ["--in-flight", String(IN_FLIGHT), "--seconds", String(SECONDS), "--warmup", String(WARMUP), ...args],
    (line) => {
      if (line === MEASURE_START) c0 = procCpuSeconds(serverPid);
      if (line === MEASURE_END) c1 = procCpuSeconds(serverPid);
    },
  );
  return { ...result, serverCpuMs: ((c1 - c0) * 1000) / result.calls };
}

export async function run(): Promise<BenchReport> {
  mkdirSync(BENCH_DATA, { recursive: true });
  const dbPath = join(BENCH_DATA, "rest.db");
  const { result, names, meanBytes } = await seed(dbPath);
  progress(`rest: seeded ${names.length} records of ${fmtKB(meanBytes)} KiB mean under ${result}`);
  const profArgs = process.env.BENCH_PROFILE
    ? ["--cpu-prof-md", `--cpu-prof-dir=${join(BENCH_DATA, "profiles")}`, `--cpu-prof-name=rest-server-${[...(ONLY ?? ["all"])].join("+").replaceAll(":", "-")}.md`]
    : [];
  const serveArgs = (process.env.BENCH_REST_SERVE_ARGS ?? "").split(/\s+/).filter((a) => a !== "");
  const server = await startServer(dbPath, profArgs, { serveArgs });
  const api = "/apis/results.tekton.dev/v1alpha2/parents/";
  const paths = { list: `${api}${result}/records?page_size=${PAGE}`, get: `${api}${names[0]}` };
  const grpcCalls = {
    list: ["--call", "listRecords", "--request", JSON.stringify({ parent: result, pageSize: PAGE })],
    get: ["--call", "getRecord", "--request", JSON.stringify({ name: names[0] })],
  };
  // The ceiling answers with Hindsight's own bytes for the same URLs.
  const bodies: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  for (const [op, p] of Object.entries(paths)) {
    const res = await fetch(server.http + p);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`rest: ${p} answered ${res.status}: ${bytes.toString().slice(0, 200)}`);
    if (op === "list" && (JSON.parse(bytes.toString()) as { records: unknown[] }).records.length !== PAGE) throw new Error("rest: the list page is not full");
    bodies[p] = bytes.toString("base64");
    sizes[op] = bytes.length;
  }
  const bodiesFile = join(BENCH_DATA, "rest-bodies.json");
  writeFileSync(bodiesFile, JSON.stringify(bodies));
  const ceiling = await startCeiling(bodiesFile);

  type Kind = "ceiling" | "rest" | "grpc";
  const out: Record<string, Record<Kind, ClientOut[]>> = { list: { ceiling: [], rest: [], grpc: [] }, get: { ceiling: [], rest: [], grpc: [] } };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const op of ["list", "get"] as const) {
        for (const kind of ["ceiling", "rest", "grpc"] as const) {
          if (ONLY && !ONLY.has(`${op}:${kind}`)) continue;
          const args = kind === "grpc" ? ["--mode", "grpc", "--address", server.address, ...grpcCalls[op]] : ["--mode", "rest", "--url", (kind === "rest" ? server.http : ceiling.base) + paths[op]];
          const r = await client(kind === "ceiling" ? ceiling.pid : server.pid, args);
          out[op]![kind].push(r);
          progress(`rest round ${round}/${ROUNDS}: ${op} ${kind}: ${fmtInt(r.calls / r.seconds)} calls/s, p50 ${fmtMs(r.lat.p50)} ms, p99 ${fmtMs(r.lat.p99)} ms, server CPU ${fmtMs(r.serverCpuMs)} ms/call`);
        }
      }
    }
  } finally {
    await ceiling.stop();
    await server.stop();
    rmSync(bodiesFile, { force: true });
  }
  // The server's peak over its whole life (seeded database, every round).
  const rssBytes = server.sampler.hwmKiB * 1024;

  const rate = (r: ClientOut) => r.calls / r.seconds;
  const none: ClientOut = { calls: NaN, seconds: 1, bytes: 0, lat: { n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN }, serverCpuMs: NaN };
  const best = (rs: ClientOut[]) => (rs.length === 0 ? none : rs.reduce((x, y) => (rate(y) > rate(x) ? y : x)));
  const figures: Record<string, number> = {};
  const rows: string[][] = [];
  for (const op of ["list", "get"] as const) {
    const ceil = rate(best(out[op]!.ceiling));
    for (const kind of ["ceiling", "rest", "grpc"] as const) {
      const b = best(out[op]![kind]);
      figures[`${op}_${kind}`] = rate(b);
      rows.push([
        op === "list" ? `ListRecords, page of ${PAGE}` : "GetRecord",
        kind === "ceiling" ? "bare Bun.serve, same bytes" : kind === "rest" ? "Hindsight REST" : "Hindsight gRPC",
        out[op]![kind].map((r) => fmtInt(rate(r))).join(", "),
        fmtInt(rate(b)),
        `${fmtMs(b.lat.p50)} / ${fmtMs(b.lat.p99)}`,
        fmtMs(b.serverCpuMs),
        `${((rate(b) / ceil) * 100).toFixed(0)}%`,
      ]);
    }
  }
  const ratio = figures.list_rest! / figures.list_ceiling!;
  const goals: Goal[] = [
    {
      goal: `REST ListRecords (page of ${PAGE}, 12 KB records) ≥ ${GOAL * 100}% of the bare Bun.serve ceiling`,
      measured: `${fmtInt(figures.list_rest!)} calls/s = ${(ratio * 100).toFixed(0)}% of ${fmtInt(figures.list_ceiling!)} (gRPC: ${fmtInt(figures.list_grpc!)})`,
      met: ratio >= GOAL,
    },
    { goal: "server RSS ≤ 150 MB while answering REST and gRPC", measured: `${(rssBytes / 1e6).toFixed(0)} MB (${fmtMB(rssBytes)} MiB) peak (VmHWM)`, met: rssBytes <= 150e6 },
  ];
  const tables: Table[] = [
    {
      title: `REST vs gRPC vs bare HTTP: ${IN_FLIGHT} calls in flight, ${SECONDS} s per run after ${WARMUP} s warm-up, best of ${ROUNDS} rounds`,
      headers: ["call", "server", "calls/s each round", "calls/s best", "p50 / p99 ms", "server CPU ms/call", "of ceiling"],
      rows,
      note:
        `${names.length} records of ${fmtKB(meanBytes)} KiB mean (final-state generated runs of 11-13 KB); answers are ${fmtKB(sizes.list!)} KiB (list) and ${fmtKB(sizes.get!)} KiB (get) of JSON. ` +
        "Server and client are separate processes on the same 2 cores; the REST client reads every answer's bytes, the gRPC client decodes them. " +
        "Server CPU ms/call is the answering process's user+system time over the measured window (Hindsight's includes its reader threads). " +
        `The ceiling answers the same URLs with Hindsight's bytes from memory. Hindsight's peak RSS over the whole run: ${fmtMB(rssBytes)} MiB (VmHWM).`,
    },
  ];
  rmSync(dbPath, { force: true });
  for (const suffix of ["-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });
  figures.server_rss_bytes = rssBytes;
  return { name: "rest", tables, goals, figures };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
