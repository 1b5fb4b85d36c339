#!/usr/bin/env bun
/**
 * Builds the single executable dist/hindsight (`bun run build`):
 *
 *   bun build --compile --bytecode --format=esm src/main.ts src/store/checkpoint-worker.ts src/store/reader-worker.ts --outfile dist/hindsight
 *
 * with HINDSIGHT_COMMIT defined as the git short commit ("unknown" outside a
 * git checkout; see src/version.ts). The SQL migrations are imported
 * `with { type: "text" }`, so they are embedded like the code. No --minify:
 * it silently disables Elysia's range checks.
 *
 * Then, unless --no-verify is given, checks that the binary stands alone: a
 * copy in an empty temporary directory (no node_modules anywhere up its
 * tree) prints its version, serves a fresh database and answers a gRPC
 * CreateResult/GetResult round trip and a REST GetResult, and exits 0 on SIGTERM.
 *
 * Usage: bun scripts/build.ts [--no-verify]
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

export const ROOT = resolve(import.meta.dir, "..");
export const OUTFILE = join(ROOT, "dist", "hindsight");

/** The git short commit of the checkout, or "unknown" (not a checkout, or no git). */
export function gitCommit(cwd = ROOT): string {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd, stdout: "pipe", stderr: "ignore" });
    const out = r.stdout.toString().trim();
    return r.exitCode === 0 && /^[0-9a-f]{4,64}$/.test(out) ? out : "unknown";
  } catch {
    return "unknown";
  }
}

/** What `--version` of a binary built from this checkout prints. */
export function expectedVersionLine(commit = gitCommit()): string {
  return `hindsight ${pkg.version} (commit ${commit})`;
}

export interface BuildResult {
  outfile: string;
  commit: string;
  bytes: number;
}

/**
 * Compiles to a temporary name beside `outfile` and renames it into place, so
 * a process running or copying the previous binary never sees a partial one.
 */
export function build(outfile = OUTFILE): BuildResult {
  const commit = gitCommit();
  mkdirSync(dirname(outfile), { recursive: true });
  const partial = `${outfile}.partial-${process.pid}`;
  const cmd = [
    process.execPath,
    "build",
    "--compile",
    "--bytecode",
    "--format=esm",
    "src/main.ts",
    // Worker entry points must be named to be embedded (the checkpointer).
    "src/store/checkpoint-worker.ts",
    "src/store/reader-worker.ts",
    "--outfile",
    partial,
    "--define",
    `HINDSIGHT_COMMIT=${JSON.stringify(commit)}`,
  ];
  const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`bun build failed (exit ${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`);
  }
  renameSync(partial, outfile);
  return { outfile, commit, bytes: statSync(outfile).size };
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The sources a build depends on: src/, the package manifest and lockfile, this script. */
export function sourcesMtime(): number {
  return Math.max(
    ...[join(ROOT, "src"), join(ROOT, "package.json"), join(ROOT, "bun.lock"), join(ROOT, "scripts", "build.ts")]
      .filter((p) => existsSync(p))
      .map(newestMtime),
  );
}

/** True when `outfile` exists and is newer than every source it is built from. */
export function isFresh(outfile = OUTFILE): boolean {
  return existsSync(outfile) && statSync(outfile).mtimeMs > sourcesMtime();
}

export function formatSize(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB (${bytes} bytes)`;
}

/**
 * Runs a copy of the binary from an empty temporary directory: --version,
 * then serve with a fresh database, a CreateResult/GetResult round trip, and
 * SIGTERM -> exit 0. Throws with the process output on any failure.
 */
export async function verify(binary = OUTFILE, commit = gitCommit()): Promise<void> {
  // Imported here so a plain build needs none of the gRPC client code.
  const { removeDir, runCli, startHindsight, tempDir } = await import("../test/support/process.ts");
  const dir = tempDir("hindsight-verify-");
  try {
    const copy = join(dir, "hindsight");
    copyFileSync(binary, copy);
    const version = await runCli(["--version"], { cmd: [copy], cwd: dir });
    if (version.code !== 0 || version.stdout.trim() !== expectedVersionLine(commit)) {
      throw new Error(`--version: exit ${version.code}, printed ${JSON.stringify(version.stdout)}; stderr: ${version.stderr}`);
    }
    const hp = await startHindsight({ cmd: [copy], cwd: dir, db: join(dir, "data", "verify.db") });
    try {
      const c = hp.client();
      const created = await c.createResult({ parent: "verify", result: { name: "verify/results/smoke" } });
      const got = await c.getResult({ name: "verify/results/smoke" });
      if (got.uid !== created.uid || got.etag !== created.etag) throw new Error("GetResult did not return the result just created");
      // Lists run on reader threads: this proves their code is embedded too.
      const listed = await c.listResults({ parent: "verify", filter: 'parent.startsWith("ver")' });
      if (listed.results.length !== 1) throw new Error(`ListResults returned ${listed.results.length} results, not 1`);
      const rest = await fetch(`${hp.http}/apis/results.tekton.dev/v1alpha2/parents/verify/results/smoke`);
      const body = (await rest.json()) as { uid?: string };
      if (rest.status !== 200 || body.uid !== created.uid) throw new Error(`REST GetResult: ${rest.status} ${JSON.stringify(body)}`);
    } finally {
      const exit = await hp.stop("SIGTERM");
      if (exit.code !== 0) throw new Error(`exit after SIGTERM: ${JSON.stringify(exit)}\nstderr:\n${hp.stderr}`);
    }
  } finally {
    removeDir(dir);
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--no-verify");
  if (unknown.length > 0) {
    console.error(`build: unknown argument ${unknown[0]}\nUsage: bun scripts/build.ts [--no-verify]`);
    process.exit(2);
  }
  const t0 = performance.now();
  const r = build();
  console.log(`built ${r.outfile.slice(ROOT.length + 1)}: ${formatSize(r.bytes)}, commit ${r.commit}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (!args.includes("--no-verify")) {
    const t1 = performance.now();
    await verify(r.outfile, r.commit);
    console.log(`verified: a copy runs from an empty directory (--version, serve, gRPC round trip and list, REST GetResult, SIGTERM -> 0), ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
}
