/**
 * `hindsight export [--output F]` and `hindsight import [--input F |
 * --from-results-api URL [--token T]]`: NDJSON moves of results and records
 * (format in src/ops/transfer.ts). Both work beside a running service.
 */
import { createReadStream, existsSync, openSync, closeSync, writeSync, renameSync, rmSync } from "node:fs";
import { Database } from "bun:sqlite";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { SourceError, readResultsApi } from "../ops/results-api.ts";
import { exportLines, importNdjson, Importer, linesOf, type ImportCounts, type Item } from "../ops/transfer.ts";
import { commandConfig, parseCommand } from "./args.ts";
import { StartError, UsageError } from "./errors.ts";
import { USAGE } from "./usage.ts";

export async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("export", args, { output: { type: "string", short: "o" } });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = commandConfig(values);
  if (!existsSync(cfg.db)) throw new StartError(`no database at ${cfg.db} (--db, HINDSIGHT_DB or db: in the config file)`);
  const db = new Database(cfg.db, { readonly: true });
  db.run("PRAGMA busy_timeout = 10000");
  const out = typeof values.output === "string" ? values.output : null;
  const partial = out ? `${out}.partial-${process.pid}` : null;
  const fd = partial ? openSync(partial, "w") : 1;
  let lines = 0;
  try {
    // One read transaction: the export is one consistent snapshot.
    db.run("BEGIN");
    let buf = "";
    for (const line of exportLines(db)) {
      buf += line + "\n";
      lines++;
      if (buf.length > 1 << 20) {
        writeSync(fd, buf);
        buf = "";
      }
    }
    writeSync(fd, buf);
    db.run("COMMIT");
  } catch (e) {
    if (partial) rmSync(partial, { force: true });
    throw e;
  } finally {
    if (partial) closeSync(fd);
    db.close();
  }
  if (out && partial) {
    renameSync(partial, out);
    process.stderr.write(`exported ${lines} line(s) to ${out}\n`);
  }
  return 0;
}

function report(c: ImportCounts): string {
  const part = (n: string, x: ImportCounts["results"]) => `${n}: ${x.inserted} new, ${x.updated} updated, ${x.unchanged} unchanged`;
  return [part("results", c.results), part("records", c.records), `${c.problems.length} skipped`].join("; ");
}

export async function importCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("import", args, {
    input: { type: "string", short: "i" },
    "from-results-api": { type: "string" },
    token: { type: "string" },
  });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const api = typeof values["from-results-api"] === "string" ? values["from-results-api"] : null;
  if (api && values.input !== undefined) throw new UsageError("hindsight import: give --input or --from-results-api, not both");
  if (api && !/^https?:\/\//.test(api)) throw new UsageError(`hindsight import: --from-results-api ${JSON.stringify(api)} is not an http(s) URL`);
  const cfg = commandConfig(values);
  const input = typeof values.input === "string" ? values.input : null;
  if (input && !existsSync(input)) throw new StartError(`no file at ${input} (--input)`);
  const db = openDatabase(cfg.db);
  let counts: ImportCounts;
  try {
    if (api) {
      const imp = new Importer(db);
      let pending: Array<{ item: Item; where: string }> = [];
      let n = 0;
      try {
        for await (const item of readResultsApi(api, { token: typeof values.token === "string" ? values.token : undefined })) {
          n++;
          pending.push({ item, where: "result" in item ? item.result.name : item.record.name });
          if (pending.length >= 500) {
            imp.batch(pending);
            pending = [];
          }
        }
      } catch (e) {
        if (pending.length) imp.batch(pending);
        if (e instanceof SourceError) throw new StartError(`${e.message} (after ${n} item(s); importing again resumes safely)`);
        throw e;
      }
      if (pending.length) imp.batch(pending);
      counts = imp.counts;
    } else {
      const stream = input ? createReadStream(input) : process.stdin;
      counts = await importNdjson(db, linesOf(stream as AsyncIterable<Uint8Array>));
    }
  } finally {
    closeDatabase(db);
  }
  for (const p of counts.problems.slice(0, 20)) process.stderr.write(`skipped ${p.where}: ${p.message}\n`);
  process.stdout.write(`imported into ${cfg.db}: ${report(counts)}\n`);
  return counts.problems.length > 0 ? 1 : 0;
}
