/** Prints the CPU check (lib.ts cpuCheck) of a fresh process, in ms: `bun scripts/bench/cpu-check.ts`. */
import { cpuCheck } from "./lib.ts";

console.log(JSON.stringify(cpuCheck()));
