/**
 * `bun run bench [name ...]`: runs the benchmarks in sequence (all, or those
 * named), prints their tables, checks the goals of the issue and appends a
 * dated section to docs/benchmarks.md.
 *
 *   bun run bench                      everything (seeds bench-data/ on first use)
 *   bun run bench ingest               one benchmark; names: payloads sqlite-ceiling grpc-ceiling ingest store-writes list filters rest watch logs appliance auth
 *   BENCH_SKIP_1M=1 bun run bench      list at 100k only
 *   BENCH_NO_DOC=1 bun run bench ...   print only, leave docs/benchmarks.md alone
 *
 * Other knobs: BENCH_ROUNDS (3), BENCH_INGEST_RUNS (8000), BENCH_INGEST_WARMUP (1000), BENCH_INGEST_MAX_SECONDS (90),
 * BENCH_SQLITE_INSERTS (20000), BENCH_STORE_RUNS (3000), BENCH_LIST_SIZES (100000,1000000),
 * BENCH_REST_ROUNDS (2), BENCH_REST_SECONDS (4), BENCH_REST_WARMUP (2), BENCH_REST_IN_FLIGHT (8), BENCH_REST_RECORDS (200),
 * BENCH_REST_ONLY (e.g. "list:ceiling,list:rest"), BENCH_REST_SERVE_ARGS (e.g. "--record-cache-size 0"),
 * BENCH_APPLIANCE_STARTS (20), BENCH_APPLIANCE_RECORDS (50000), BENCH_APPLIANCE_BACKUPS (2), BENCH_APPLIANCE_DB (a database to back up instead),
 * BENCH_AUTH_SECONDS (4), BENCH_AUTH_ROUNDS (3), BENCH_AUTH_IN_FLIGHT (8),
 * BENCH_WATCH_RUNS (100000), BENCH_WATCH_SECONDS (600, the steady phase; shorten for dev runs), BENCH_WATCH_RATE (50),
 * BENCH_LOGS_MB (100), BENCH_LOGS_ROUNDS (3),
 * BENCH_PROFILE=1 (ingest and rest: server CPU profile in bench-data/profiles),
 * BENCH_COMMIT (the commit to print, for a tree exported without .git),
 * BENCH_FIXTURES (the real fixtures folder, default ../shared/fixtures/real).
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fmtInt, fmtMB, markdownTable, ROOT, runChild, textTable, type BenchReport, type Goal } from "./lib.ts";

/**
 * Every benchmark runs as `bun scripts/bench/<file>` in a child process of its
 * own (its result is one JSON line), so none inherits another's heap; ceiling
 * B and ingest are the exception when paired (see interleaved()).
 */
type Bench = { name: string; aliases: string[]; file: string };
const BENCHES: Bench[] = [
  { name: "payloads", aliases: ["data"], file: "payloads.ts" },
  { name: "sqlite-ceiling", aliases: ["ceiling-a", "sqlite", "a"], file: "sqlite-ceiling.ts" },
  { name: "grpc-ceiling", aliases: ["ceiling-b", "echo", "grpc", "b"], file: "grpc-ceiling.ts" },
  { name: "ingest", aliases: [], file: "ingest.ts" },
  { name: "store-writes", aliases: ["writes", "store"], file: "store-writes.ts" },
  { name: "list", aliases: ["listing", "list-records"], file: "list.ts" },
  { name: "filters", aliases: ["filter", "summary"], file: "filters.ts" },
  { name: "rest", aliases: ["http", "json"], file: "rest.ts" },
  { name: "watch", aliases: ["watcher", "cluster"], file: "watch.ts" },
  { name: "logs", aliases: ["log"], file: "logs.ts" },
  { name: "appliance", aliases: ["binary", "backup", "startup"], file: "appliance.ts" },
  { name: "auth", aliases: ["tls"], file: "auth.ts" },
];
const runBench = async (b: Bench) => (await runChild<BenchReport>(`scripts/bench/${b.file}`, [])).result;
const cpuCheck = async () => (await runChild<number>("scripts/bench/cpu-check.ts", [])).result;

const DOC = join(ROOT, "docs", "benchmarks.md");
const DOC_HEADER = `# Benchmarks

Hindsight's core capability, measured on one machine in one run: storing
Tekton runs through gRPC and listing them back. Each \`bun run bench\` appends a
dated section below; nothing above this line is rewritten.

## How to run

    bun run bench                     # everything, ~6 min once bench-data/ is seeded
    bun run bench ingest list         # a subset: payloads sqlite-ceiling grpc-ceiling ingest store-writes list filters rest watch logs appliance
    BENCH_SKIP_1M=1 bun run bench     # ListRecords at 100k only
    BENCH_NO_DOC=1 bun run bench ...  # print only, do not append here

The first run seeds \`bench-data/list-100k.db\` and \`bench-data/list-1M.db\`
(git-ignored, ~1.5 and ~15 GB; with schema 2 about 40 s and 10 min on the
2-core reference machine) through the server's own write path; later runs
reuse them, and re-seed when the schema version or the seeding changes.

## How to read it

- **Payloads** come from \`test/support/data.ts\`, a seeded generator of
  TaskRuns and PipelineRuns whose compact-JSON sizes follow the real fixtures
  in \`shared/fixtures/real\` (median ≈ 11 KB compact, ≈ 13 KB as the pretty
  files on disk). Every benchmark uses the same payload bytes.
- **Ceiling A** is bare \`bun:sqlite\` inserting those payloads in one process
  with Hindsight's pragmas (WAL, synchronous=NORMAL). Reported per-insert
  transaction and batched (32 inserts per transaction, as group commit can
  reach with 32 calls in flight), text and \`jsonb(?)\`. **The goal uses the
  batched, plain-text figure** (the highest, so the strictest).
- **Ceiling B** is a bare grpc-js echo server and client in two processes,
  sending Hindsight's exact request bytes with the same 5-call pattern and 32
  calls in flight; the server answers with the bytes it got. Its last line is
  the transport alone fetching one ListRecords page worth of bytes.
- **Ingest** is the real server (\`bun src/main.ts serve\`) in its own process
  and the load client in another: per simulated run CreateResult,
  CreateRecord and 3 UpdateRecord (the run's lifecycle), 32 calls in flight.
  Every RPC counts as a write. RSS is the server's (its PID checked in
  /proc), VmRSS sampled every 100 ms plus the kernel's VmHWM.
  Ingest and ceiling B each run 3 rounds (fresh server each, 1,000 warm-up
  runs, then 8,000 measured runs), alternating B, ingest, B, ingest, ... so
  that both see the same machine, and each reports its fastest round.
  Bytes per record = database file after the server's clean stop
  (WAL checkpointed) / records.
- **Store writes** runs the ingest workload through ResultsService and
  SqliteStore in one process, without the network: the main thread's CPU
  and the WAL frames per write at 2, 8 and 32 writes per commit, and
  without the document-field indexes or the label side table (what the
  filter goals cost the write path). Configurations take turns in chunks.
- **ListRecords** runs against databases of 100k and 1M records seeded through
  \`openDatabase + SqliteStore + ResultsService\`; one call in flight, page
  size 50, first pages for three parents and two orders (after 1,200 warm-up
  calls: a fresh server is ~2x slower until Bun's JIT settles), then deep
  pages by walking next_page_token to page 1000 and re-calling pages 1, 100
  and 1000.
  "Flat cost" is judged per list: page 1000's p50 within 1.5× of page 1's,
  or within 2 ms of it. The issue states the latency goals at 1M; 100k is
  shown for reference. The RSS goal applies to every phase.
- Latencies are client-side wall time per call, in milliseconds. "Cores busy"
  is CPU seconds / elapsed seconds from /proc/<pid>/stat. The machine has 2
  cores: client and server share them, so the client's CPU is part of every
  gRPC figure.
- **REST** seeds a small database (200 records of 11-13 KB under one
  Result) and measures GetRecord and ListRecords (page of 50) through the
  REST listener and through gRPC on the same server, and against a bare
  \`Bun.serve\` answering the same URLs with the exact bytes Hindsight
  answered (the HTTP ceiling), 8 calls in flight; rounds alternate the three
  and the best of each is reported.
- **Logs** follows one step container whose log (generated build output,
  \`test/support/build-log.ts\`) the fake API server already holds, from the
  real server in its own process: capture MB/s is stored bytes over the time
  from first to last byte stored; storage is compressed chunk bytes over raw
  bytes (and the database file over raw bytes); GetLog reads the whole log
  over REST and gRPC and measures the time to first byte.
`;

function git(args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], { cwd: ROOT });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "";
}

function selected(argv: string[]): Bench[] {
  if (argv.length === 0) return BENCHES;
  return argv.map((a) => {
    const b = BENCHES.find((x) => x.name === a || x.aliases.includes(a));
    if (!b) {
      process.stderr.write(`unknown benchmark ${JSON.stringify(a)}; known: ${BENCHES.map((x) => x.name).join(", ")}\n`);
      process.exit(2);
    }
    return b;
  });
}

function goals(reports: Map<string, BenchReport>): Goal[] {
  const out: Goal[] = [];
  const a = reports.get("sqlite-ceiling")?.figures;
  const b = reports.get("grpc-ceiling")?.figures;
  const ing = reports.get("ingest")?.figures;
  if (ing) {
    if (a && b) {
      const floor = Math.min(a.ceilingA!, b.ceilingB!);
      const ratio = ing.writesPerSec! / floor;
      // Round by round too (the rounds alternate, so each pair saw the same machine).
      const perRound = Object.keys(ing)
        .filter((k) => k.startsWith("round") && b[k] !== undefined)
        .map((k) => `${((ing[k]! / Math.min(a.ceilingA!, b[k]!)) * 100).toFixed(0)}%`);
      out.push({
        goal: "ingest ≥ 50% of min(A, B)",
        measured:
          `${fmtInt(ing.writesPerSec!)} writes/s = ${(ratio * 100).toFixed(0)}% of min(A ${fmtInt(a.ceilingA!)}, B ${fmtInt(b.ceilingB!)}) = ${fmtInt(floor)}` +
          (perRound.length ? ` (round by round: ${perRound.join(", ")})` : ""),
        met: ratio >= 0.5,
      });
    } else {
      out.push({ goal: "ingest ≥ 50% of min(A, B)", measured: `${fmtInt(ing.writesPerSec!)} writes/s (ceilings not run)`, met: null });
    }
    const rss = ing.peakRssKiB! * 1024;
    out.push({ goal: "server RSS ≤ 150 MB during ingest", measured: `${(rss / 1e6).toFixed(0)} MB (${fmtMB(rss)} MiB) peak`, met: rss <= 150e6 });
  }
  out.push(...(reports.get("filters")?.goals ?? []));
  out.push(...(reports.get("rest")?.goals ?? []));
  out.push(...(reports.get("watch")?.goals ?? []));
  out.push(...(reports.get("logs")?.goals ?? []));
  out.push(...(reports.get("appliance")?.goals ?? []));
  out.push(...(reports.get("auth")?.goals ?? []));
  const floor = b?.pageFloorP50;
  for (const g of reports.get("list")?.goals ?? []) {
    // Next to a page latency, what the transport alone needs to move the same bytes.
    const withFloor = floor !== undefined && g.goal.startsWith("p50 of a") ? `${g.measured} (grpc-js alone moving a page's bytes: ${floor.toFixed(2)} ms)` : g.measured;
    out.push({ ...g, measured: withFloor });
  }
  return out;
}

const mark = (g: Goal) => (g.met === null ? "not evaluated" : g.met ? "met" : "**not met**");

const names = selected(process.argv.slice(2));
const started = new Date();
const t0 = performance.now();
// BENCH_COMMIT names the commit when the tree being measured is an export without .git.
const commit = process.env.BENCH_COMMIT || git(["rev-parse", "--short", "HEAD"]) || "unknown";
const dirty = !process.env.BENCH_COMMIT && git(["status", "--porcelain", "--", "src"]) !== "";
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model ?? "?"}), ${fmtMB(totalmem())} MiB memory (${fmtMB(freemem())} MiB free at start), Linux ${release()}, Bun ${Bun.version}, load average at start ${loadavg().map((x) => x.toFixed(2)).join(" ")}`;
console.log(`Hindsight benchmarks, ${started.toISOString()}, commit ${commit}${dirty ? " (src/ modified)" : ""}\n${machine}\n`);

/**
 * Ceiling B and ingest are compared with each other, so when both are asked
 * for their rounds alternate (B, ingest, B, ingest, ...): a slow spell of the
 * shared machine then hits both, not one.
 */
async function interleaved(): Promise<Map<string, BenchReport>> {
  const g = await import("./grpc-ceiling.ts");
  const ing = await import("./ingest.ts");
  const echo: Awaited<ReturnType<typeof g.echoRound>>[] = [];
  const ingest: Awaited<ReturnType<typeof ing.ingestRound>>[] = [];
  for (let i = 0; i < ing.ROUNDS; i++) {
    echo.push(await g.echoRound(i));
    ingest.push(await ing.ingestRound(i));
  }
  return new Map([
    ["grpc-ceiling", await g.echoReport(echo)],
    ["ingest", ing.ingestReport(ingest)],
  ]);
}
const pairIngest = names.some((b) => b.name === "grpc-ceiling") && names.some((b) => b.name === "ingest");
let paired: Promise<Map<string, BenchReport>> | null = null;

const reports = new Map<string, BenchReport>();
const failures: string[] = [];
const checks: string[] = [];
for (const b of names) {
  const s = performance.now();
  const check = await cpuCheck();
  checks.push(`${b.name} ${check.toFixed(1)} ms`);
  const alt = pairIngest && (b.name === "grpc-ceiling" || b.name === "ingest") ? `, rounds alternate with ${b.name === "ingest" ? "grpc-ceiling" : "ingest"}` : "";
  console.log(`== ${b.name} (CPU check ${check.toFixed(1)} ms${alt})`);
  try {
    let r: BenchReport;
    if (pairIngest && (b.name === "grpc-ceiling" || b.name === "ingest")) {
      paired ??= interleaved();
      r = (await paired).get(b.name)!;
    } else {
      r = await runBench(b);
    }
    reports.set(b.name, r);
    for (const t of r.tables) console.log(`\n${textTable(t)}`);
    const took = pairIngest && b.name === "ingest" ? "its rounds ran with grpc-ceiling's" : `${((performance.now() - s) / 1000).toFixed(0)} s`;
    console.log(`\n(${b.name}: ${took})\n`);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    failures.push(`${b.name}: ${msg}`);
    console.error(`${b.name} failed: ${msg}`);
  }
}

const gs = goals(reports);
if (gs.length) {
  console.log("== goals");
  for (const g of gs) console.log(`${mark(g).replace(/\*/g, "").padEnd(14)} ${g.goal}: ${g.measured}`);
}
const minutes = (performance.now() - t0) / 60000;
console.log(`\ntotal ${minutes.toFixed(1)} min`);

if (!process.env.BENCH_NO_DOC) {
  if (!existsSync(DOC)) writeFileSync(DOC, DOC_HEADER);
  const parts: string[] = [
    `\n## ${started.toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${commit}${dirty ? " (src/ had uncommitted changes)" : ""}\n`,
    `Machine: ${machine}. Benchmarks: ${names.map((b) => b.name).join(", ")}${process.env.BENCH_SKIP_1M ? " (1M list skipped)" : ""}; ${minutes.toFixed(1)} min in all.\n`,
    `CPU check before each benchmark (fixed JSON work, lower is faster; differences show a shared machine's slow spells): ${checks.join(", ")}.\n`,
  ];
  if (gs.length) {
    parts.push(markdownTable({ title: "Goals", headers: ["goal", "measured", "status"], rows: gs.map((g) => [g.goal, g.measured, mark(g)]) }));
  }
  for (const b of names) for (const t of reports.get(b.name)?.tables ?? []) parts.push(markdownTable(t));
  if (failures.length) parts.push(`**Failed:** ${failures.join("; ")}\n`);
  appendFileSync(DOC, parts.join("\n"));
  console.log(`appended to ${DOC}`);
}
if (failures.length) process.exitCode = 1;
