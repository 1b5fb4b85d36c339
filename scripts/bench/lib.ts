/**
 * Shared pieces of the benchmarks: the workload (payloads from the generator
 * in test/support/data.ts), latency statistics, /proc sampling of a server's
 * memory and CPU, spawning the real server and client processes, and
 * Markdown tables for docs/benchmarks.md.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { generateRunGroup, lifecycle, makeRng, type Obj } from "../../test/support/data.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;
/** The real fixtures (read only for the size comparison); BENCH_FIXTURES overrides. */
export const FIXTURES = process.env.BENCH_FIXTURES ?? resolve(ROOT, "../shared/fixtures/real");
export const BENCH_DATA = join(ROOT, "bench-data");
/** Calls in flight, as the issue asks. */
export const IN_FLIGHT = 32;

// ---- workload -------------------------------------------------------------------

/** One simulated run: its Result, its Record and the 4 states the watcher sends (create + 3 updates). */
export interface SimRun {
  namespace: string;
  result: string;
  record: string;
  type: string;
  stages: Uint8Array[];
}

const enc = new TextEncoder();
export const recordType = (o: Obj) => `${o.apiVersion as string}.${o.kind as string}`;

/**
 * `n` distinct simulated runs from run groups (PipelineRun + TaskRuns), each
 * with its 4 lifecycle states as compact JSON bytes. Deterministic in `seed`.
 */
export function buildRunPool(seed: number, n: number): SimRun[] {
  const rng = makeRng(seed);
  const out: SimRun[] = [];
  while (out.length < n) {
    const g = generateRunGroup(rng);
    for (const run of [g.pipelineRun, ...g.taskRuns]) {
      if (out.length >= n) break;
      const meta = run.metadata as Obj;
      out.push({
        namespace: g.namespace,
        result: meta.uid as string,
        record: meta.uid as string,
        type: recordType(run),
        stages: lifecycle(run).map((s) => enc.encode(JSON.stringify(s))),
      });
    }
  }
  return out;
}

/** The k-th use of a pooled run gets names of its own (names must stay unique across passes). */
export function runAt(pool: SimRun[], i: number): SimRun & { pass: number } {
  const base = pool[i % pool.length]!;
  const pass = Math.floor(i / pool.length);
  if (pass === 0) return { ...base, pass };
  return { ...base, result: `${base.result}-p${pass}`, record: `${base.record}-p${pass}`, pass };
}

/**
 * Call k (0..4, load.ts CALLS) of run i, as every ingest driver sends it:
 * CreateResult, CreateRecord with the run's first state, then 3 UpdateRecord
 * with the later ones (`value` is the state the call carries).
 */
export interface IngestCall {
  kind: "createResult" | "createRecord" | "updateRecord";
  namespace: string;
  resultName: string;
  recordName: string;
  type: string;
  value: Uint8Array;
}

export function ingestCall(pool: SimRun[], i: number, k: number): IngestCall {
  const r = runAt(pool, i);
  const resultName = `${r.namespace}/results/${r.result}`;
  return {
    kind: k === 0 ? "createResult" : k === 1 ? "createRecord" : "updateRecord",
    namespace: r.namespace,
    resultName,
    recordName: `${resultName}/records/${r.record}`,
    type: r.type,
    value: r.stages[Math.max(0, k - 1)]!,
  };
}

// ---- statistics ------------------------------------------------------------------

export interface Lat {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

/** Latency summary (same unit as the input, milliseconds everywhere here). */
export function summarize(xs: ArrayLike<number>): Lat {
  const s = Float64Array.from(xs as ArrayLike<number>).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return { n: s.length, p50: percentile(s, 0.5), p90: percentile(s, 0.9), p99: percentile(s, 0.99), max: s[s.length - 1] ?? NaN, mean: sum / s.length };
}

export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
export const fmtMs = (n: number) => (!Number.isFinite(n) ? "–" : n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1));
export const fmtMB = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : "–");
export const fmtKB = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024).toFixed(1) : "–");

// ---- /proc -------------------------------------------------------------------------

export interface ProcMem {
  rssKiB: number;
  hwmKiB: number;
}

export function procMem(pid: number): ProcMem | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rssKiB: kb("VmRSS"), hwmKiB: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** user + system CPU seconds of a process so far. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Samples VmRSS every `everyMs`; `peakRssKiB` is the highest sample, `hwmKiB` the kernel's own peak. */
export class RssSampler {
  peakRssKiB = 0;
  hwmKiB = 0;
  samples = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  constructor(readonly pid: number, everyMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): ProcMem | null {
    const m = procMem(this.pid);
    if (m) {
      this.samples++;
      this.peakRssKiB = Math.max(this.peakRssKiB, m.rssKiB);
      this.hwmKiB = Math.max(this.hwmKiB, m.hwmKiB);
    }
    return m;
  }
  /** Peak over the window since the last reset (VmRSS samples; VmHWM covers the process lifetime). */
  resetWindow(): void {
    this.peakRssKiB = procMem(this.pid)?.rssKiB ?? 0;
  }
  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

// ---- processes ----------------------------------------------------------------------

export interface ServerProc {
  pid: number;
  address: string;
  /** Base URL of the REST listener. */
  http: string;
  sampler: RssSampler;
  /** SIGTERM, wait for exit (the server checkpoints the WAL on a clean stop). */
  stop(): Promise<number>;
  cpuSeconds(): number;
}

/**
 * Starts `bun src/main.ts serve` on a loopback port chosen by the kernel and
 * returns once it logs that it serves. Bun.spawn runs the bun binary itself
 * (process.execPath, no shell or wrapper), and the PID is checked against
 * /proc/<pid>/cmdline, so the RSS sampled is the server's.
 */
export async function startServer(
  db: string,
  extraArgs: string[] = [],
  opts: { env?: Record<string, string>; startTimeoutMs?: number; serveArgs?: string[] } = {},
): Promise<ServerProc> {
  const proc = Bun.spawn([BUN, ...extraArgs, "src/main.ts", "serve", "--db", db, "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", ...(opts.serveArgs ?? [])], {
    cwd: ROOT,
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  const reader = proc.stderr.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let port = 0;
  let httpPort = 0;
  const timeout = opts.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeout;
  while (!port) {
    if (Date.now() > deadline) throw new Error(`server did not start within ${timeout / 1000} s`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before serving: ${buf}`);
    buf += dec.decode(value);
    for (const line of buf.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const o = JSON.parse(line) as { msg?: string; grpcPort?: number; httpPort?: number };
        if (o.msg === "hindsight serving" && o.grpcPort) {
          port = o.grpcPort;
          httpPort = o.httpPort ?? 0;
        }
      } catch {
        /* partial line */
      }
    }
  }
  // Keep draining stderr so the server never blocks on a full pipe; surface errors.
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const text = dec.decode(value);
      if (/"level":"(error|warn)"/.test(text)) process.stderr.write(`  [server] ${text}`);
    }
  })();
  const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0");
  if (!cmdline.includes("serve") || !cmdline.some((a) => a.endsWith("src/main.ts"))) {
    throw new Error(`PID ${proc.pid} is not the server: ${cmdline.join(" ")}`);
  }
  const sampler = new RssSampler(proc.pid);
  return {
    pid: proc.pid,
    address: `127.0.0.1:${port}`,
    http: `http://127.0.0.1:${httpPort}`,
    sampler,
    cpuSeconds: () => procCpuSeconds(proc.pid),
    async stop() {
      sampler.stop();
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface ChildResult<T> {
  result: T;
  pid: number;
  cpuSeconds: number;
  /** CPU seconds between the MEASURE_START and MEASURE_END lines (NaN without them). */
  windowCpuSeconds: number;
  peakRssKiB: number;
}

/**
 * Runs `bun <script> <args>` as a separate process. The child prints progress
 * on stderr (passed through, each line also given to `onLine`) and its result
 * as one JSON line on stdout.
 */
export async function runChild<T>(script: string, args: string[], onLine?: (line: string) => void): Promise<ChildResult<T>> {
  const proc = Bun.spawn([BUN, join(ROOT, script), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const sampler = new RssSampler(proc.pid, 250);
  let cpu = 0;
  const cpuTimer = setInterval(() => {
    const c = procCpuSeconds(proc.pid);
    if (Number.isFinite(c)) cpu = c;
  }, 200);
  let w0 = NaN;
  let w1 = NaN;
  const errDone = (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) {
      buf += dec.decode(chunk);
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === MEASURE_START) w0 = procCpuSeconds(proc.pid);
        if (line === MEASURE_END) w1 = procCpuSeconds(proc.pid);
        onLine?.(line);
        if (line !== MEASURE_START && line !== MEASURE_END) process.stderr.write(line + "\n");
      }
    }
    if (buf) process.stderr.write(buf + "\n");
  })();
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  await errDone;
  clearInterval(cpuTimer);
  sampler.stop();
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  const last = out.trim().split("\n").pop() ?? "";
  return { result: JSON.parse(last) as T, pid: proc.pid, cpuSeconds: cpu, windowCpuSeconds: w1 - w0, peakRssKiB: sampler.hwmKiB };
}

/** Lines a load client prints on stderr when its measured window starts and ends. */
export const MEASURE_START = "@@measure-start";
export const MEASURE_END = "@@measure-end";

/** For child scripts: parse `--key value` pairs. */
export function argMap(argv: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) m[a.slice(2)] = argv[i + 1] ?? "";
  }
  return m;
}

/**
 * The load clients' transport options, for measuring the transport itself
 * (docs/benchmarks.md, "Where ingest's time goes on the wire"); the recorded
 * benchmarks keep the defaults: one connection, grpc-js's 64 KiB windows.
 *   --connections N   spread the calls over N HTTP/2 connections (run i on connection i mod N)
 *   --window BYTES    the client's HTTP/2 receive window (grpc-node.flow_control_window)
 */
export function transportOptions(a: Record<string, string>): { connections: number; channel: Record<string, number> } {
  const connections = Number(a.connections ?? 1);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections: expected a positive integer, got ${a.connections}`);
  const window = a.window === undefined ? 0 : Number(a.window);
  if (!Number.isInteger(window) || window < 0) throw new Error(`--window: expected a byte count, got ${a.window}`);
  return {
    connections,
    channel: {
      // Without it, grpc-js shares one connection between channels with the same options.
      ...(connections > 1 ? { "grpc.use_local_subchannel_pool": 1 } : {}),
      ...(window > 0 ? { "grpc-node.flow_control_window": window } : {}),
    },
  };
}

export const progress = (msg: string) => process.stderr.write(`  ${msg}\n`);

/**
 * A fixed CPU-bound task (JSON round trips of one ~13 KB run), median of 5,
 * in ms. Printed before each benchmark: on a shared machine it shows when a
 * phase ran on a slower machine than the others.
 */
export function cpuCheck(): number {
  const text = new TextDecoder().decode(buildRunPool(3, 1)[0]!.stages[3]!);
  const times: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    for (let i = 0; i < 300; i++) JSON.stringify(JSON.parse(text));
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[2]!;
}

/** Size of a SQLite database with its WAL and shared-memory files. */
export function dbBytes(path: string): { db: number; wal: number; total: number } {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  const db = size(path);
  const wal = size(`${path}-wal`);
  return { db, wal, total: db + wal };
}

// ---- reporting -------------------------------------------------------------------------

export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  note?: string;
}

export interface Goal {
  goal: string;
  measured: string;
  met: boolean | null;
}

/** What each benchmark returns to index.ts. */
export interface BenchReport {
  name: string;
  tables: Table[];
  goals?: Goal[];
  /** Raw figures other benchmarks use (e.g. the ceilings for the ingest goal). */
  figures?: Record<string, number>;
}

export function markdownTable(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [`| ${t.headers.map(esc).join(" | ")} |`, `| ${t.headers.map(() => "---").join(" | ")} |`];
  for (const r of t.rows) lines.push(`| ${r.map(esc).join(" | ")} |`);
  return `**${t.title}**\n\n${lines.join("\n")}\n${t.note ? `\n${t.note}\n` : ""}`;
}

export function textTable(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [`${t.title}`, line(t.headers), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line), ...(t.note ? [t.note] : [])].join("\n");
}
