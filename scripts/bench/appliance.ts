/**
 * The appliance, measured on the compiled binary (`bun run bench appliance`):
 *
 * - binary size of dist/hindsight (built if stale);
 * - start-up to first response: spawn `hindsight serve` on an existing
 *   database until GET /readyz answers 200, median of BENCH_APPLIANCE_STARTS
 *   (20) starts, each stopped with SIGTERM;
 * - idle RSS of the server 5 s after start, with nothing to do;
 * - backup MB/s: `hindsight backup` of a seeded database (BENCH_APPLIANCE_RECORDS
 *   records, default 50,000 generated runs of ~11 KB, about 0.6 GB; or the
 *   database at BENCH_APPLIANCE_DB, e.g. bench-data/list-1M.db) while the
 *   server runs on it and a client keeps writing, database bytes / wall
 *   time, best of BENCH_APPLIANCE_BACKUPS (2).
 *
 * Goals (issue 7): start-up ≤ 300 ms, idle RSS ≤ 80 MB, backup ≥ 200 MB/s.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, isFresh, OUTFILE } from "../build.ts";
import { openDatabase, closeDatabase } from "../../src/store/db.ts";
import { BENCH_DATA, buildRunPool, fmtInt, percentile, procMem, ROOT, type BenchReport, type Goal, type Table } from "./lib.ts";
import { freePort, tempDir, removeDir } from "../../test/support/process.ts";

const STARTS = Number(process.env.BENCH_APPLIANCE_STARTS ?? 20);
const RECORDS = Number(process.env.BENCH_APPLIANCE_RECORDS ?? 50_000);
const BACKUPS = Number(process.env.BENCH_APPLIANCE_BACKUPS ?? 2);
const progress = (m: string) => process.stderr.write(`  ${m}\n`);

interface Started {
  proc: ReturnType<typeof Bun.spawn>;
  http: string;
  ms: number;
}

/**
 * The environment systemd/hindsight.service gives the service (read from the
 * unit, so the two cannot drift): with it, `serve` skips its heap-bounding
 * re-exec (src/heap.ts), as it does when installed.
 */
const UNIT_ENV: Record<string, string> = (() => {
  const unit = readFileSync(join(ROOT, "systemd", "hindsight.service"), "utf8");
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*$/gm)) env[m[1]!] = m[2]!;
  return env;
})();

/** `env`: added to this process's environment; null: a bare shell's (without the unit's variables). */
async function start(binary: string, db: string, cwd: string, env: Record<string, string> | null = UNIT_ENV): Promise<Started> {
  const spawnEnv: Record<string, string | undefined> = { ...process.env, ...(env ?? {}) };
  if (env === null) for (const k of Object.keys(UNIT_ENV)) delete spawnEnv[k];
  const port = await freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "serve", "--db", db, "--grpc-listen", "127.0.0.1:0", "--http-listen", `127.0.0.1:${port}`], {
    cwd,
    stdout: "ignore",
    stderr: "ignore",
    env: spawnEnv,
  });
  const url = `http://127.0.0.1:${port}/readyz`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`serve exited with ${proc.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) return { proc, http: `http://127.0.0.1:${port}`, ms: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 30_000) {
      proc.kill("SIGKILL");
      throw new Error("serve did not answer /readyz within 30 s");
    }
    await Bun.sleep(2);
  }
}

async function stop(s: Started): Promise<void> {
  s.proc.kill("SIGTERM");
  await s.proc.exited;
}

/** A database of `n` records (generated runs, final state) written straight through SQL, cached in bench-data/. */
function seeded(n: number): string {
  mkdirSync(BENCH_DATA, { recursive: true });
  const path = join(BENCH_DATA, `appliance-${n}.db`);
  if (existsSync(path)) return path;
  progress(`seeding ${fmtInt(n)} records into ${path.slice(ROOT.length + 1)}`);
  const partial = `${path}.partial`;
  for (const s of ["", "-wal", "-shm"]) rmSync(partial + s, { force: true });
  const db = openDatabase(partial);
  const pool = buildRunPool(7, Math.min(n, 2000));
  const insResult = db.prepare("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES (?, ?, ?, ?, ?, ?)");
  const insRecord = db.prepare(
    "INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, jsonb(?))",
  );
  const dec = new TextDecoder();
  const t = Date.now() * 1000;
  for (let i = 0; i < n; i += 1000) {
    db.transaction(() => {
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        const run = pool[j % pool.length]!;
        const uid = crypto.randomUUID();
        const rid = insResult.run(uid, run.namespace, `r-${j}`, t + j, t + j, `${uid}-1`).lastInsertRowid;
        const ruid = crypto.randomUUID();
        insRecord.run(ruid, rid, run.namespace, `r-${j}`, "rec", t + j, t + j, `${ruid}-1`, run.type, dec.decode(run.stages[run.stages.length - 1]!));
      }
    })();
  }
  closeDatabase(db);
  for (const s of ["-wal", "-shm"]) rmSync(partial + s, { force: true });
  Bun.spawnSync(["mv", partial, path]);
  return path;
}

export async function run(): Promise<BenchReport> {
  if (!isFresh()) {
    progress("building dist/hindsight");
    build();
  }
  const dir = tempDir("hindsight-bench-appliance-");
  try {
    const binary = join(dir, "hindsight");
    Bun.spawnSync(["cp", OUTFILE, binary]);
    const size = statSync(binary).size;

    // Start-up: the first start creates the database; the timed ones open it, as a restart does.
    const db = join(dir, "start.db");
    await stop(await start(binary, db, dir));
    // As installed (the unit's environment) and from a bare shell, alternating.
    const times: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const s = await start(binary, db, dir);
      times.push(s.ms);
      await stop(s);
      const b = await start(binary, db, dir, null);
      bare.push(b.ms);
      await stop(b);
    }
    times.sort((a, b) => a - b);
    bare.sort((a, b) => a - b);
    const startP50 = percentile(times, 0.5);
    const bareP50 = percentile(bare, 0.5);
    progress(`start-up to /readyz 200: median ${startP50.toFixed(0)} ms of ${STARTS} as installed, ${bareP50.toFixed(0)} ms from a bare shell`);

    // Idle RSS: 5 s after start, nothing asked of it.
    const idle = await start(binary, db, dir);
    await Bun.sleep(5000);
    const rssKiB = procMem(idle.proc.pid)?.rssKiB ?? NaN;
    await stop(idle);
    progress(`idle RSS ${(rssKiB / 1024).toFixed(1)} MiB`);

    // Backup while serving and writing.
    // Absolute: the server and `hindsight backup` run in a temporary directory.
    const source = process.env.BENCH_APPLIANCE_DB ? resolve(process.env.BENCH_APPLIANCE_DB) : seeded(RECORDS);
    if (!existsSync(source)) throw new Error(`BENCH_APPLIANCE_DB: no database at ${source}`);
    const dbSize = statSync(source).size;
    const srv = await start(binary, source, dir);
    let writes = 0;
    let writing = true;
    const writer = (async () => {
      const base = `${srv.http}/apis/results.tekton.dev/v1alpha2/parents/bench-backup/results`;
      for (let i = 0; writing; i++) {
        const r = await fetch(base, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: `bench-backup/results/${Date.now()}-${i}` }) });
        if (r.status === 200) writes++;
        await r.arrayBuffer();
      }
    })();
    const rates: number[] = [];
    for (let i = 0; i < BACKUPS; i++) {
      const out = join(dir, `backup-${i}.db`);
      const t0 = performance.now();
      // Spawned asynchronously, so the writer above keeps writing meanwhile.
      const b = Bun.spawn([binary, "backup", out, "--db", source], { cwd: dir, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(b.stdout).text(), new Response(b.stderr).text(), b.exited]);
      const s = (performance.now() - t0) / 1000;
      if (code !== 0) throw new Error(`backup failed: ${stderr}`);
      rates.push(dbSize / 1e6 / s);
      progress(`backup ${i + 1}: ${(dbSize / 1e6).toFixed(0)} MB in ${s.toFixed(2)} s = ${(dbSize / 1e6 / s).toFixed(0)} MB/s (${stdout.trim()})`);
      rmSync(out, { force: true });
    }
    writing = false;
    await writer;
    await stop(srv);
    const best = Math.max(...rates);

    const tables: Table[] = [
      {
        title: "Appliance: the compiled binary",
        headers: ["measure", "value"],
        rows: [
          ["binary size", `${(size / 1048576).toFixed(1)} MiB (${fmtInt(size)} bytes)`],
          [`start-up to first /readyz 200, median of ${STARTS}, as installed (the unit's environment)`, `${startP50.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times[times.length - 1]!.toFixed(0)})`],
          [`start-up from a bare shell (re-executes once to bound its heap), median of ${STARTS}`, `${bareP50.toFixed(0)} ms (min ${bare[0]!.toFixed(0)}, max ${bare[bare.length - 1]!.toFixed(0)})`],
          ["idle RSS, 5 s after start", `${(rssKiB / 1024).toFixed(1)} MiB`],
          [`backup while serving and writing, best of ${BACKUPS}`, `${best.toFixed(0)} MB/s (${(dbSize / 1e6).toFixed(0)} MB database, ${process.env.BENCH_APPLIANCE_DB ? "given" : `${fmtInt(RECORDS)} records`}; ${fmtInt(writes)} writes during the backups)`],
        ],
        note: "Start-up is process spawn to the first 200 from GET /readyz (database open, schema checked, both listeners up) on an existing database; as installed means with the environment of systemd/hindsight.service, which bounds the heap itself, so serve skips its re-exec (src/heap.ts). Idle RSS is as installed. Backup rate is the database file's bytes over the wall time of `hindsight backup` (VACUUM INTO), process start included.",
      },
    ];
    const goals: Goal[] = [
      { goal: `start-up to first response ≤ 300 ms (median of ${STARTS}, as installed)`, measured: `${startP50.toFixed(0)} ms (bare shell: ${bareP50.toFixed(0)} ms)`, met: startP50 <= 300 },
      { goal: "idle RSS ≤ 80 MB", measured: `${((rssKiB * 1024) / 1e6).toFixed(0)} MB (${(rssKiB / 1024).toFixed(1)} MiB)`, met: rssKiB * 1024 <= 80e6 },
      { goal: "backup ≥ 200 MB/s while serving", measured: `${best.toFixed(0)} MB/s of a ${(dbSize / 1e6).toFixed(0)} MB database`, met: best >= 200 },
    ];
    return { name: "appliance", tables, goals, figures: { startP50, bareStartP50: bareP50, rssKiB, backupMBps: best, binaryBytes: size } };
  } finally {
    removeDir(dir);
  }
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
