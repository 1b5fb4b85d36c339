/**
 * Runs Hindsight as a real child process (from source with `bun src/main.ts`,
 * or the compiled binary) on a loopback port with a real SQLite file, waits
 * for the gRPC health check to answer SERVING, captures its output (stderr
 * carries the JSON log lines), and stops it with a signal.
 *
 * Every process started here is remembered, so `killAllProcesses()` in an
 * afterEach/afterAll never leaves one behind when a test fails midway.
 */
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Results } from "../../src/gen/api_pb.ts";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { makeClient, type Client } from "./grpc-client.ts";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const MAIN_TS = join(REPO_ROOT, "src/main.ts");

/** The command that runs Hindsight from source. */
export function sourceCommand(): string[] {
  return [process.execPath, MAIN_TS];
}

export function tempDir(prefix = "hindsight-proc-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago: bind port 0 on loopback, close, reuse the number. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close((err) => (err || port === 0 ? reject(err ?? new Error("no port")) : resolvePort(port)));
    });
  });
}

/** The environment of the test run without any HINDSIGHT_* setting, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HINDSIGHT_")) env[k] = v;
  }
  return { ...env, ...extra };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Exit {
  /** Exit code; null when the process was ended by a signal. */
  code: number | null;
  signal: string | null;
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
}

const live = new Set<Subprocess>();

/** SIGKILLs every child started by this module that is still running. */
export async function killAllProcesses(): Promise<void> {
  const procs = [...live];
  live.clear();
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
  await Promise.all(procs.map((p) => p.exited.catch(() => 0)));
}

/** Collects a stream into text as it arrives, so the child never blocks on a full pipe. */
function collect(stream: ReadableStream<Uint8Array>, onText: (s: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  return (async () => {
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
    onText(decoder.decode());
  })().catch(() => {});
}

function spawn(cmd: string[], opts: { cwd?: string; env?: Record<string, string> }) {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? childEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  const out = { stdout: "", stderr: "" };
  const drained = Promise.all([collect(proc.stdout, (s) => (out.stdout += s)), collect(proc.stderr, (s) => (out.stderr += s))]);
  const exited: Promise<Exit> = proc.exited.then(async () => {
    await drained;
    live.delete(proc);
    return { code: proc.exitCode, signal: proc.signalCode === null ? null : String(proc.signalCode) };
  });
  return { proc, out, exited };
}

/**
 * Runs a command to completion (for --help, --version, bad flags). `env` is
 * added to the test run's environment minus HINDSIGHT_*. Fails the test, with
 * the output so far, if it does not end within `timeoutMs`.
 */
export async function runCli(
  args: string[],
  opts: { cmd?: string[]; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { proc, out, exited } = spawn([...(opts.cmd ?? sourceCommand()), ...args], { cwd: opts.cwd, env: childEnv(opts.env) });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const res = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (res === "timeout") {
    proc.kill("SIGKILL");
    await exited;
    throw new Error(`hindsight ${args.join(" ")} did not exit within ${timeoutMs} ms\nstdout: ${out.stdout}\nstderr: ${out.stderr}`);
  }
  return { ...res, stdout: out.stdout, stderr: out.stderr };
}

export interface StartOptions {
  /** Command to run; default `bun src/main.ts`. */
  cmd?: string[];
  /** Working directory of the child; default the repository root. */
  cwd?: string;
  /** Value of --db; null passes no --db flag. Default `h.db` in a new temporary directory, left for the caller to remove. */
  db?: string | null;
  /** Port to listen on; default a free one (retried if it got taken meanwhile). */
  port?: number;
  /** Pass --grpc-listen 127.0.0.1:<port> (default true); false when the port comes from the environment. */
  listenFlag?: boolean;
  /**
   * Pass --http-listen 127.0.0.1:0 (default true, unless `args` or `env` set
   * the REST address), so parallel servers never contend for port 8080.
   */
  httpListenFlag?: boolean;
  /** More arguments after `serve`. */
  args?: string[];
  /** Extra environment; HINDSIGHT_* variables of the test run are never inherited. */
  env?: Record<string, string>;
  /** How long to wait for SERVING. */
  readyTimeoutMs?: number;
}

export class HindsightProcess {
  private clients: Array<{ close(): void }> = [];

  constructor(
    readonly proc: Subprocess,
    private readonly out: { stdout: string; stderr: string },
    readonly exited: Promise<Exit>,
    readonly port: number,
    readonly dbPath: string | null,
    readonly args: string[],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The REST port, from the "hindsight serving" log line (0 before it is written). */
  get httpPort(): number {
    const line = this.logLines().find((l) => l.msg === "hindsight serving");
    return typeof line?.httpPort === "number" ? line.httpPort : 0;
  }

  /** Base URL of the REST listener, e.g. "http://127.0.0.1:41234". */
  get http(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get stderr(): string {
    return this.out.stderr;
  }

  get stdout(): string {
    return this.out.stdout;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The JSON log lines written to stderr so far (other lines are skipped). */
  logLines(): Array<Record<string, unknown>> {
    const lines: Array<Record<string, unknown>> = [];
    for (const line of this.out.stderr.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a partial line still being written
      }
    }
    return lines;
  }

  /** A new Results client for this process; closed when the process is stopped or killed. */
  client(): Client<typeof Results> {
    const c = makeClient(Results, this.address);
    this.clients.push(c);
    return c;
  }

  closeClients(): void {
    for (const c of this.clients.splice(0)) c.close();
  }

  /** Resolves once Health/Check("") answers SERVING; fails if the process exits first or time runs out. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = "";
    let exitedEarly = false;
    void this.exited.then(() => (exitedEarly = true));
    while (Date.now() < deadline) {
      if (exitedEarly || !this.running) break;
      const health = makeClient(Health, this.address);
      try {
        const res = await Promise.race([
          health.check({ service: "" }, { deadlineMs: 2000 }),
          this.exited.then(() => null),
        ]);
        if (res === null) break;
        if (res.status === ServingStatus.SERVING) return;
        lastError = `status ${ServingStatus[res.status]}`;
      } catch (e) {
        lastError = (e as Error).message;
      } finally {
        health.close();
      }
      await sleep(100);
    }
    if (!this.running || exitedEarly) {
      const exit = await this.exited;
      throw new StartError(`hindsight exited before serving (code ${exit.code}, signal ${exit.signal})\nstderr:\n${this.stderr}`, this.stderr);
    }
    throw new Error(`hindsight did not answer SERVING on ${this.address} within ${timeoutMs} ms (${lastError})\nstderr:\n${this.stderr}`);
  }

  /** Sends a signal without waiting. */
  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /**
   * Sends `sig` (default SIGTERM) and waits for the exit. If the process is
   * still running after `timeoutMs` it is SIGKILLed and this throws.
   */
  async stop(sig: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000): Promise<Exit> {
    if (this.running) this.proc.kill(sig);
    return this.waitExit(timeoutMs);
  }

  /** Waits for the process to end by itself (bounded). */
  async waitExit(timeoutMs = 30_000): Promise<Exit> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    const res = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    this.closeClients();
    if (res === "timeout") {
      this.proc.kill("SIGKILL");
      await this.exited;
      throw new Error(`hindsight did not exit within ${timeoutMs} ms\nstderr:\n${this.stderr}`);
    }
    return res;
  }
}

export class StartError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

const PORT_TAKEN = /EADDRINUSE|address already in use|No address added/i;

/**
 * Starts `hindsight serve` and waits until it is SERVING. With no `port`
 * given, a free port is picked; if another process took it in between, the
 * start is retried on a new one.
 */
export async function startHindsight(opts: StartOptions = {}): Promise<HindsightProcess> {
  const db = opts.db === undefined ? join(tempDir(), "h.db") : opts.db;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const args = ["serve"];
    if (db !== null) args.push("--db", db);
    if (opts.listenFlag ?? true) args.push("--grpc-listen", `127.0.0.1:${port}`);
    const httpGiven = (opts.args ?? []).includes("--http-listen") || opts.env?.HINDSIGHT_HTTP_LISTEN !== undefined;
    if ((opts.httpListenFlag ?? true) && !httpGiven) args.push("--http-listen", "127.0.0.1:0");
    args.push(...(opts.args ?? []));
    const { proc, out, exited } = spawn([...(opts.cmd ?? sourceCommand()), ...args], {
      cwd: opts.cwd,
      env: childEnv(opts.env),
    });
    const hp = new HindsightProcess(proc, out, exited, port, db, args);
    try {
      await hp.waitReady(opts.readyTimeoutMs ?? 60_000);
      return hp;
    } catch (e) {
      if (hp.running) await hp.stop("SIGKILL");
      if (e instanceof StartError && opts.port === undefined && attempt < 4 && PORT_TAKEN.test(e.stderr)) continue;
      throw e;
    }
  }
}
