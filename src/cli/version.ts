/**
 * `hindsight version`: what an operator needs before an upgrade: the
 * binary's version, commit and schema version, and (when a database exists
 * at --db / the configured path) the schema version of that database.
 */
import { existsSync } from "node:fs";
import { COMMIT, VERSION } from "../version.ts";
import { commandConfig, parseCommand } from "./args.ts";
import { USAGE } from "./usage.ts";

export async function version(args: string[]): Promise<number> {
  const { values } = parseCommand("version", args);
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const { SCHEMA_VERSION, schemaVersion } = await import("../store/migrations.ts");
  const lines = [`hindsight ${VERSION} (commit ${COMMIT})`, `schema version ${SCHEMA_VERSION}`];
  const cfg = commandConfig(values);
  if (existsSync(cfg.db)) {
    const { Database } = await import("bun:sqlite");
    const db = new Database(cfg.db, { readonly: true });
    try {
      db.run("PRAGMA busy_timeout = 5000");
      const hasTable = db.query("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get() !== null;
      lines.push(`database ${cfg.db}: schema version ${hasTable ? schemaVersion(db) : 0}`);
    } finally {
      db.close();
    }
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
