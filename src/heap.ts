/**
 * Memory settings of `hindsight serve` that the engine and the allocator
 * read only when the process starts, so the process re-executes itself once
 * (same PID: systemd and signals are unaffected) with them in its
 * environment. Imported first by main.ts, so this runs before anything else
 * is loaded. A setting the operator made is kept as it is.
 *
 * - BUN_JSC_forceRAMSize: Bun's engine (JSC) sizes its heap from the
 *   machine's RAM; on a 24 GiB VM it lets garbage pile up to ~150 MB under
 *   ingest before collecting. Told the machine has 1 GiB, it collects
 *   sooner: measured peak RSS under the ingest benchmark fell from 148 to
 *   134 MiB with throughput unchanged. HINDSIGHT_HEAP_RAM=0 leaves the
 *   engine's default.
 * - MIMALLOC_PURGE_DELAY: Bun's allocator hands freed memory back to the
 *   kernel 10 ms after it is freed, and every 4 KiB handed back costs a page
 *   fault when it is used again, dear on VMs. The server frees and reuses
 *   the same few MB per call (12 KB documents, 0.6 MB list pages), so it
 *   keeps freed memory for a second. Measured on 2 cores, in alternated runs
 *   and with the main connection's smaller page cache (app.ts): ingest
 *   +7-30% (median +16%, four pairs), the list benchmark's peak RSS lower,
 *   not higher. An operator's value (10 is mimalloc's default) is kept.
 */
export const HEAP_RAM_BYTES = 1024 * 1024 * 1024;
const PURGE_DELAY_MS = 1000;

/** The variables `serve` adds to an environment that lacks them (empty: nothing to add). */
function serveEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const add: Record<string, string> = {};
  if (env.BUN_JSC_forceRAMSize === undefined && env.HINDSIGHT_HEAP_RAM !== "0") add.BUN_JSC_forceRAMSize = String(HEAP_RAM_BYTES);
  if (env.MIMALLOC_PURGE_DELAY === undefined) add.MIMALLOC_PURGE_DELAY = String(PURGE_DELAY_MS);
  return add;
}

const argv = process.argv;
const compiled = import.meta.url.includes("/$bunfs/");
// The command is the first user argument: argv[1] is the script (from source) or the embedded entry (compiled).
if (argv[2] === "serve" && typeof process.execve === "function") {
  const add = serveEnvironment(process.env);
  if (Object.keys(add).length > 0) {
    const args = compiled ? argv.slice(2) : [...process.execArgv, argv[1]!, ...argv.slice(2)];
    process.execve(process.execPath, [process.execPath, ...args], { ...process.env, ...add });
  }
}
