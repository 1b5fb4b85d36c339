/**
 * `hindsight backup PATH` (while the service runs) and `hindsight restore
 * PATH` (while it does not). Both find the database as `serve` does:
 * --db, HINDSIGHT_DB, or `db:` in the config file.
 */
import { BackupError, backupDatabase, restoreDatabase } from "../ops/backup.ts";
import { commandConfig, parseCommand } from "./args.ts";
import { StartError } from "./errors.ts";
import { USAGE } from "./usage.ts";

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

export async function backup(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("backup", args, {}, { min: 1, max: 1, names: "one PATH to write the backup to" });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = commandConfig(values);
  try {
    const r = backupDatabase(cfg.db, positionals[0]!);
    const mbps = r.bytes / 1e6 / Math.max(r.ms / 1000, 1e-3);
    process.stdout.write(`backup ${r.path}: ${mib(r.bytes)} MiB, schema version ${r.schemaVersion}, ${(r.ms / 1000).toFixed(2)} s (${mbps.toFixed(0)} MB/s)\n`);
    return 0;
  } catch (e) {
    if (e instanceof BackupError) throw new StartError(e.message);
    throw e;
  }
}

export async function restore(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("restore", args, {}, { min: 1, max: 1, names: "one PATH of a backup to restore" });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = commandConfig(values);
  try {
    const r = restoreDatabase(positionals[0]!, cfg.db);
    process.stdout.write(
      `restored ${cfg.db} from ${positionals[0]} (schema version ${r.schemaVersion}, integrity ok)` +
        (r.previous ? `; the database it replaced is kept at ${r.previous}` : "") +
        "\n",
    );
    return 0;
  } catch (e) {
    if (e instanceof BackupError) throw new StartError(e.message);
    throw e;
  }
}
