import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claim, pidFile, release, servingPid } from "./lock.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("claim writes this PID, release removes it only when it is ours", () => {
  const db = join(dir, "a.db");
  expect(claim(db)).toBeNull();
  expect(readFileSync(pidFile(db), "utf8")).toBe(`${process.pid}\n`);
  // Our own PID never counts as "another process serves it".
  expect(servingPid(db)).toBeNull();
  release(db);
  expect(existsSync(pidFile(db))).toBe(false);
  writeFileSync(pidFile(db), "1\n");
  release(db);
  expect(existsSync(pidFile(db))).toBe(true);
});

test("a live process's PID file is honoured; a dead one's or garbage is ignored", async () => {
  const db = join(dir, "b.db");
  const child = Bun.spawn(["sleep", "30"]);
  try {
    writeFileSync(pidFile(db), `${child.pid}\n`);
    expect(servingPid(db)).toBe(child.pid);
    expect(claim(db)).toBe(child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  expect(servingPid(db)).toBeNull();
  expect(claim(db)).toBeNull();
  writeFileSync(pidFile(db), "not a pid");
  expect(servingPid(db)).toBeNull();
});
