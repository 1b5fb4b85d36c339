/**
 * `hindsight prune [--dry-run] [--json]`: applies the retention policy of
 * the config now, from any shell, whether or not the service runs (SQLite
 * serialises its deletes with the service's writes). --dry-run lists what
 * would go and changes nothing.
 */
import { existsSync } from "node:fs";
import { formatAge } from "../config/age.ts";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { compilePolicy, deleteResults, expiredResults } from "../ops/retention.ts";
import { commandConfig, parseCommand } from "./args.ts";
import { StartError } from "./errors.ts";
import { USAGE } from "./usage.ts";

export async function prune(args: string[]): Promise<number> {
  const { values } = parseCommand("prune", args, { "dry-run": { type: "boolean" }, json: { type: "boolean" } });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = commandConfig(values);
  const policy = compilePolicy(cfg);
  if (!existsSync(cfg.db)) throw new StartError(`no database at ${cfg.db} (--db, HINDSIGHT_DB or db: in the config file)`);
  const db = openDatabase(cfg.db);
  try {
    const due = expiredResults(db, policy, Date.now());
    const dry = values["dry-run"] === true;
    const deleted = dry ? 0 : deleteResults(db, due.map((d) => d.rid));
    if (values.json) {
      const list = due.map((d) => ({ name: d.name, completed: new Date(d.completedMs).toISOString(), rule: d.rule, maxAge: formatAge(d.maxAgeMs) }));
      process.stdout.write(JSON.stringify({ dryRun: dry, results: list, deleted }) + "\n");
    } else {
      for (const d of due) process.stdout.write(`${d.name}\tcompleted ${new Date(d.completedMs).toISOString()}\t${d.rule} (${formatAge(d.maxAgeMs)})\n`);
      process.stdout.write(dry ? `${due.length} result(s) would be deleted (dry run)\n` : `deleted ${deleted} result(s) and their records\n`);
    }
  } finally {
    closeDatabase(db);
  }
  return 0;
}
