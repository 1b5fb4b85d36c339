/**
 * The compiled binary for tests: dist/hindsight is reused when it is newer
 * than every source and reports the current commit, otherwise built once,
 * then copied into the caller's temporary directory (no node_modules up
 * its tree), so the tests run what an operator would install.
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { build, expectedVersionLine, gitCommit, isFresh, OUTFILE } from "../../scripts/build.ts";
import { runCli } from "./process.ts";

export async function binaryIn(dir: string): Promise<string> {
  let reuse = isFresh();
  if (reuse) {
    const v = await runCli(["--version"], { cmd: [OUTFILE], cwd: dir });
    reuse = v.code === 0 && v.stdout.trim() === expectedVersionLine(gitCommit());
  }
  if (!reuse) build();
  const binary = join(dir, "hindsight");
  copyFileSync(OUTFILE, binary);
  return binary;
}
