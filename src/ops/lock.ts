/**
 * Which process serves a database: `hindsight serve` writes its PID to
 * `<db>.pid` and removes it on a clean stop. `restore` refuses to replace a
 * database whose PID file names a live process, and a second `serve` on the
 * same file refuses to start. SQLite's own locks cannot tell this: in WAL
 * mode a server holds no lock while idle. A PID file left by `kill -9`
 * names a dead process and is ignored. A process of another user (systemd's
 * DynamicUser) answers EPERM to signal 0: that still means alive.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";

export const pidFile = (db: string) => `${db}.pid`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** The PID of the live process serving `db`, or null. */
export function servingPid(db: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidFile(db), "utf8");
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  return alive(pid) ? pid : null;
}

/** Claims `db` for this process; returns the PID already serving it instead, if any. */
export function claim(db: string): number | null {
  const other = servingPid(db);
  if (other !== null) return other;
  writeFileSync(pidFile(db), `${process.pid}\n`);
  return null;
}

export function release(db: string): void {
  try {
    if (readFileSync(pidFile(db), "utf8").trim() === String(process.pid)) rmSync(pidFile(db), { force: true });
  } catch {
    // already gone
  }
}
