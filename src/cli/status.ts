/** `hindsight status`: reads the watcher's rows from the database (read-only), prints them. */
import { existsSync } from "node:fs";
import { commandConfig, parseCommand } from "./args.ts";
import { StartError } from "./errors.ts";
import { USAGE } from "./usage.ts";

export async function status(args: string[]): Promise<number> {
  const { values } = parseCommand("status", args, { streams: { type: "boolean" }, json: { type: "boolean" } });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = commandConfig(values);
  if (!existsSync(cfg.db)) throw new StartError(`no database at ${cfg.db} (--db or HINDSIGHT_DB)`);
  const { Database } = await import("bun:sqlite");
  const { readWatchStreams } = await import("../store/watch-state.ts");
  const { clusterViews, formatStatus } = await import("../watch/status.ts");
  const db = new Database(cfg.db, { readonly: true });
  let rows;
  try {
    db.run("PRAGMA busy_timeout = 5000");
    rows = readWatchStreams(db);
  } finally {
    db.close();
  }
  const now = Date.now();
  const views = clusterViews(rows, now);
  if (values.json) process.stdout.write(JSON.stringify({ clusters: views }, null, 2) + "\n");
  else process.stdout.write(formatStatus(rows, now, { streams: values.streams === true }));
  return views.every((v) => v.connected) ? 0 : 1;
}
