/**
 * `hindsight export [--output F] [--no-logs]` and `hindsight import
 * [--input F | --from-results-api URL [--token T] [--with-logs]]`: NDJSON
 * moves of results, records and logs (format in src/ops/transfer.ts and
 * src/ops/log-lines.ts). Both work beside a running service.
 */
import { createReadStream, existsSync, openSync, closeSync, writeSync, renameSync, rmSync } from "node:fs";
import { Database } from "bun:sqlite";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { isLogType } from "../core/log-record.ts";
import { logStatusOf } from "../core/logs-service.ts";
import { SourceError, readLog, readResultsApi, type SourceOptions } from "../ops/results-api.ts";
import { exportLines, importNdjson, Importer, linesOf, type ImportCounts, type Item } from "../ops/transfer.ts";
import { commandConfig, parseCommand } from "./args.ts";
import { StartError, UsageError } from "./errors.ts";
import { USAGE } from "./usage.ts";

export async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("export", args, { output: { type: "string", short: "o" }, "no-logs": { type: "boolean" } });
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
    for (const line of exportLines(db, { logs: values["no-logs"] !== true })) {
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
  const l = c.logs;
  // Log parts are reported when there were any (an export without logs reports as it always did).
  const logs = l.inserted + l.replaced + l.unchanged > 0 ? [`log parts: ${l.inserted} new, ${l.replaced} replaced, ${l.unchanged} unchanged (${l.bytes} bytes stored)`] : [];
  return [part("results", c.results), part("records", c.records), ...logs, `${c.problems.length} skipped`].join("; ");
}

/**
 * `--with-logs`: the logs of the Log records just imported, read with the
 * source's GetLog. A log whose record already holds as many bytes as its
 * status.size is not fetched again; a record without a stored log is
 * passed over. A failed log is reported and the import goes on.
 */
async function importLogs(imp: Importer, api: string, opts: SourceOptions, items: Item[]): Promise<void> {
  for (const item of items) {
    if (!("record" in item) || !item.record.data || !isLogType(item.record.data.type)) continue;
    const name = item.record.name;
    try {
      const uid = imp.logs.logRecordUid(name);
      const value = new TextDecoder().decode(item.record.data.value);
      const st = logStatusOf({ parent: "", resultName: "", name: "", uid, createTime: 0, updateTime: 0, etag: "", data: { type: item.record.data.type, value } });
      if (!st.isStored || st.size <= 0) continue;
      if (imp.logs.storedBytes(uid) === st.size) {
        imp.logs.counts.unchanged++;
        continue;
      }
      const body = await readLog(api, name, opts);
      if (body) await imp.logs.importStream(uid, body);
    } catch (e) {
      if (e instanceof SourceError) throw e;
      imp.problem(`log of ${name}`, e);
    }
  }
}

export async function importCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("import", args, {
    input: { type: "string", short: "i" },
    "from-results-api": { type: "string" },
    token: { type: "string" },
    "with-logs": { type: "boolean" },
  });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const api = typeof values["from-results-api"] === "string" ? values["from-results-api"] : null;
  if (api && values.input !== undefined) throw new UsageError("hindsight import: give --input or --from-results-api, not both");
  if (api && !/^https?:\/\//.test(api)) throw new UsageError(`hindsight import: --from-results-api ${JSON.stringify(api)} is not an http(s) URL`);
  const withLogs = values["with-logs"] === true;
  if (withLogs && !api) throw new UsageError("hindsight import: --with-logs goes with --from-results-api (an export file carries its logs itself)");
  const cfg = commandConfig(values);
  const input = typeof values.input === "string" ? values.input : null;
  if (input && !existsSync(input)) throw new StartError(`no file at ${input} (--input)`);
  const db = openDatabase(cfg.db);
  let counts: ImportCounts;
  try {
    if (api) {
      const imp = new Importer(db);
      const opts: SourceOptions = { token: typeof values.token === "string" ? values.token : undefined };
      let pending: Array<{ item: Item; where: string }> = [];
      let n = 0;
      // A batch is committed before its logs are read: a log needs its record in the database.
      const flush = async () => {
        const batch = pending;
        pending = [];
        if (batch.length) imp.batch(batch);
        if (withLogs) await importLogs(imp, api, opts, batch.map((p) => p.item));
      };
      try {
        for await (const item of readResultsApi(api, opts)) {
          n++;
          pending.push({ item, where: "result" in item ? item.result.name : item.record.name });
          if (pending.length >= 500) await flush();
        }
        await flush();
      } catch (e) {
        if (pending.length) imp.batch(pending);
        if (e instanceof SourceError) throw new StartError(`${e.message} (after ${n} item(s); importing again resumes safely)`);
        throw e;
      }
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
