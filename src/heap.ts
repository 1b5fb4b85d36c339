/**
 * Bounds the JavaScript heap of `hindsight serve`. Bun's engine (JSC) sizes
 * its heap from the machine's RAM; on a 24 GiB VM it lets garbage pile up to
 * ~150 MB under ingest before collecting. Told the machine has 1 GiB, it
 * collects sooner: measured peak RSS under the ingest benchmark fell from
 * 148 to 134 MiB with throughput unchanged. JSC reads the setting once, when
 * the engine starts, so the process re-executes itself (same PID: systemd
 * and signals are unaffected) with BUN_JSC_forceRAMSize set. Imported first
 * by main.ts, so this runs before anything else is loaded. An operator who
 * sets BUN_JSC_forceRAMSize (or HINDSIGHT_HEAP_RAM=0 to opt out) decides.
 */
export const HEAP_RAM_BYTES = 1024 * 1024 * 1024;

const argv = process.argv;
const compiled = import.meta.url.includes("/$bunfs/");
// The command is the first user argument: argv[1] is the script (from source) or the embedded entry (compiled).
const command = argv[2];
const env = process.env;
if (command === "serve" && env.BUN_JSC_forceRAMSize === undefined && env.HINDSIGHT_HEAP_RAM !== "0" && typeof process.execve === "function") {
  const args = compiled ? argv.slice(2) : [...process.execArgv, argv[1]!, ...argv.slice(2)];
  process.execve(process.execPath, [process.execPath, ...args], { ...env, BUN_JSC_forceRAMSize: String(HEAP_RAM_BYTES) });
}
