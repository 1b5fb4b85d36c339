// Log export and import on real SQLite files: parts written as the service
// writes them (LogSql), exported to lines, imported into another file.
import type { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOG_TYPE_V1ALPHA3 } from "../core/log-record.ts";
import type { LogPartInput } from "../core/store.ts";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { countNewlines, LogSql } from "../store/log-sql.ts";
import { LogExporter } from "./log-export.ts";
import { LogImporter } from "./log-import.ts";
import { LOG_LINE_BYTES, parseLogLine } from "./log-lines.ts";
import { importNdjson } from "./transfer.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-log-transfer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let dbs = 0;
/** A database with one Result and Log records `l1`…`l3` (uids u1…u3), and a TaskRun record `tr`. */
function fresh(): Database {
  const db = openDatabase(join(dir, `db-${++dbs}.db`));
  db.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('r', 'ci', 'r', 1, 1, 'e')");
  for (const [uid, name, type] of [["u1", "l1", LOG_TYPE_V1ALPHA3], ["u2", "l2", LOG_TYPE_V1ALPHA3], ["u3", "l3", "results.tekton.dev/v1alpha2.Log"], ["t", "tr", "tekton.dev/v1.TaskRun"]]) {
    db.run("INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES (?, 1, 'ci', 'r', ?, 1, 1, 'e', ?, jsonb('{}'))", [uid!, name!, type!]);
  }
  return db;
}

/** Writes a part as the service does: chunks of `chunk` bytes. */
function writePart(db: Database, uid: string, p: LogPartInput, data: Uint8Array, chunk: number, state: { done?: boolean; note?: string | null; resume?: string | null } = {}): void {
  const sql = new LogSql(db);
  const part = sql.insertLogPart(uid, p);
  for (let o = 0; o < data.byteLength; o += chunk) {
    const piece = data.subarray(o, o + chunk);
    sql.append({ part: part.id, data: piece }, Bun.zstdCompressSync(piece), countNewlines(piece), piece[piece.byteLength - 1] !== 10);
  }
  sql.setLogPartState(part.id, state);
}

/** Every committed part of a record: its description and bytes. */
function parts(db: Database, uid: string) {
  const sql = new LogSql(db);
  return sql.committedParts(uid).map((p) => {
    const chunks: Uint8Array[] = [];
    for (let s = 0; s < p.chunks; s++) chunks.push(sql.readChunk(p.id, s)!);
    const { id: _id, chunks: _c, ...desc } = p;
    return { ...desc, data: Buffer.concat(chunks).toString("latin1") };
  });
}

const text = (n: number, seed: number) => {
  const words = ["build", "step", "ok", "PASS", "compiling", "ünïcode ✓", "\t", "error: x"];
  let s = "";
  for (let i = 0; s.length < n; i++) s += words[(i * 31 + seed) % words.length] + ((i + seed) % 9 === 0 ? "\n" : " ");
  return new TextEncoder().encode(s).subarray(0, n);
};

function exportAll(db: Database): string[] {
  const ex = new LogExporter(db);
  return ["u1", "u2", "u3"].flatMap((uid, i) => [...ex.lines(uid, `ci/results/r/records/l${i + 1}`)]);
}

function importAll(db: Database, lines: string[]) {
  const imp = new LogImporter(db);
  const problems: Array<{ where: string; message: string }> = [];
  lines.forEach((l, i) => {
    try {
      imp.line(parseLogLine((JSON.parse(l) as { log: unknown }).log), `line ${i + 1}`, (cut) => problems.push(cut));
    } catch (e) {
      problems.push({ where: `line ${i + 1}`, message: (e as Error).message });
    }
  });
  const cut = imp.interrupt();
  if (cut) problems.push(cut);
  return { counts: imp.counts, problems };
}

function source(): Database {
  const db = fresh();
  // A captured TaskRun: two containers (the second with a note and no bytes), one of 2.5 MiB in 64 KiB chunks.
  const big = text(Math.floor(2.5 * LOG_LINE_BYTES), 1);
  writePart(db, "u1", { idx: 0, staging: false, label: "step-build", source: { namespace: "ci", pod: "p", container: "step-build" } }, big, 64 * 1024, { done: true, resume: '{"ts":"x"}' });
  writePart(db, "u1", { idx: 1, staging: false, label: "sidecar", source: { namespace: "ci", pod: "p", container: "sidecar" } }, new Uint8Array(0), 1, { done: true, note: "never started" });
  // An upload with an open last line, and a staged upload (not part of the log) beside it.
  writePart(db, "u2", { idx: 0, staging: false, label: "" }, new TextEncoder().encode("hello\nno newline"), 4);
  writePart(db, "u2", { idx: 0, staging: true, label: "" }, new TextEncoder().encode("half an upload"), 4);
  writePart(db, "u3", { idx: 0, staging: false, label: "" }, text(300, 2), 1000);
  return db;
}

test("export -> import rebuilds every committed part byte for byte, with its description; lines stay bounded", () => {
  const a = source();
  const lines = exportAll(a);
  expect(lines.every((l) => l.length < LOG_LINE_BYTES * 1.4 + 1000)).toBe(true);
  // 3 lines for 2.5 MiB, one for the empty part, one each for the uploads; the staged upload is not exported.
  expect(lines.map((l) => JSON.parse(l).log.offset)).toEqual([0, LOG_LINE_BYTES, 2 * LOG_LINE_BYTES, 0, 0, 0]);
  expect(lines.some((l) => l.includes(Buffer.from("half an upload").toString("base64")))).toBe(false);

  const b = fresh();
  const r = importAll(b, lines);
  expect(r.problems).toEqual([]);
  expect(r.counts).toEqual({ inserted: 4, replaced: 0, unchanged: 0, bytes: Math.floor(2.5 * LOG_LINE_BYTES) + 16 + 300 });
  for (const uid of ["u1", "u2", "u3"]) expect(parts(b, uid)).toEqual(parts(a, uid));
  // Stored in the service's chunk size, and exported again line for line.
  expect(new LogSql(b).committedParts("u1")[0]!.chunks).toBe(10);
  expect(exportAll(b)).toEqual(lines);

  // Twice is once.
  const again = importAll(b, lines);
  expect(again).toEqual({ counts: { inserted: 0, replaced: 0, unchanged: 4, bytes: 0 }, problems: [] });
  expect((b.query("SELECT count(*) AS n FROM log_parts").get() as { n: number }).n).toBe(4);
  closeDatabase(a);
  closeDatabase(b);
});

test("a part of another length is replaced by the imported one; other parts stay", () => {
  const a = source();
  const lines = exportAll(a);
  const b = fresh();
  writePart(b, "u2", { idx: 0, staging: false, label: "" }, new TextEncoder().encode("old"), 10);
  writePart(b, "u1", { idx: 5, staging: false, label: "other", source: { namespace: "ci", pod: "q", container: "other" } }, new TextEncoder().encode("kept\n"), 10);
  const r = importAll(b, lines);
  expect(r.problems).toEqual([]);
  expect(r.counts.replaced).toBe(1);
  expect(parts(b, "u2")).toEqual(parts(a, "u2"));
  expect(parts(b, "u1").map((p) => p.data)).toEqual([...parts(a, "u1").map((p) => p.data), "kept\n"]);
  closeDatabase(a);
  closeDatabase(b);
});

test("a cut-short part, a missing record, a non-Log record and a stray continuation are reported; nothing half-stored stays", () => {
  const a = source();
  const lines = exportAll(a);
  const b = fresh();
  b.run("DELETE FROM records WHERE uid = 'u3'");
  const cutShort = [lines[0]!, lines[1]!, lines[4]!];
  const strayContinuation = lines[2]!;
  const notLog = lines[4]!.replace("records/l2", "records/tr");
  const r = importAll(b, [...cutShort, lines[5]!, strayContinuation, notLog]);
  expect(r.problems.map((p) => p.where)).toEqual(["line 1", "line 4", "line 5", "line 6"]);
  expect(r.problems[0]!.message).toContain(`log part 0 of ci/results/r/records/l1 ends at byte ${2 * LOG_LINE_BYTES} of`);
  expect(r.problems[1]!.message).toContain("its record ci/results/r/records/l3 is not in the database");
  expect(r.problems[2]!.message).toContain("whose earlier bytes are not on the lines before");
  expect(r.problems[3]!.message).toContain("is a tekton.dev/v1.TaskRun, not a Log record");
  // The upload after the cut-short part was imported; the cut-short part left nothing (not even a staged part).
  expect(parts(b, "u2")).toEqual(parts(a, "u2"));
  expect(parts(b, "u1")).toEqual([]);
  expect((b.query("SELECT count(*) AS n FROM log_parts WHERE record_rid = (SELECT rid FROM records WHERE uid = 'u1')").get() as { n: number }).n).toBe(0);
  expect((b.query("SELECT count(*) AS n FROM log_chunks").get() as { n: number }).n).toBe(1);
  closeDatabase(a);
  closeDatabase(b);
});

test("the lines of a refused part are reported once", () => {
  const a = source();
  const lines = exportAll(a);
  const b = fresh();
  b.run("DELETE FROM records WHERE uid = 'u1'");
  const r = importAll(b, lines);
  expect(r.problems.map((p) => p.where)).toEqual(["line 1", "line 4"]);
  expect(r.counts.inserted).toBe(2);
  closeDatabase(a);
  closeDatabase(b);
});

test("importStream stores a streamed log as the record's one upload part, replacing its parts; a failing stream leaves them", async () => {
  const b = fresh();
  writePart(b, "u1", { idx: 0, staging: false, label: "step-a", source: { namespace: "ci", pod: "p", container: "a" } }, new TextEncoder().encode("a\n"), 10);
  const imp = new LogImporter(b);
  const failing = (async function* () {
    yield new Uint8Array(300 * 1024);
    throw new Error("connection reset");
  })();
  await expect(imp.importStream("u1", failing)).rejects.toThrow("connection reset");
  expect(parts(b, "u1").map((p) => p.data)).toEqual(["a\n"]);
  expect((b.query("SELECT count(*) AS n FROM log_parts").get() as { n: number }).n).toBe(1);

  const data = text(700 * 1024, 3);
  const stream = (async function* () {
    for (let o = 0; o < data.byteLength; o += 10_000) yield data.subarray(o, o + 10_000);
  })();
  expect(await imp.importStream("u1", stream)).toBe(data.byteLength);
  const got = parts(b, "u1");
  expect(got).toHaveLength(1);
  expect(got[0]!.label).toBe("");
  expect(got[0]!.data).toBe(Buffer.from(data).toString("latin1"));
  expect(imp.storedBytes("u1")).toBe(data.byteLength);
  expect(imp.counts.replaced).toBe(1);
  closeDatabase(b);
});

test("through importNdjson: a corrupt line in the middle of a part is reported, the part dropped once, the logs after it imported", async () => {
  const a = source();
  const lines = exportAll(a);
  const o = JSON.parse(lines[1]!) as { log: { data: string } };
  o.log.data = `*${o.log.data.slice(1)}`;
  const b = fresh();
  const counts = await importNdjson(b, (async function* () {
    yield* [lines[0]!, JSON.stringify(o), lines[2]!, lines[3]!, "", lines[4]!, lines[5]!];
  })());
  expect(counts.problems).toEqual([
    { where: "line 2", message: "log.data: not valid base64" },
    { where: "line 1", message: `log part 0 of ci/results/r/records/l1 ends at byte ${LOG_LINE_BYTES} of ${Math.floor(2.5 * LOG_LINE_BYTES)} (lines missing); the log was left as it was` },
  ]);
  expect(counts.logs).toMatchObject({ inserted: 3, replaced: 0, unchanged: 0 });
  expect(parts(b, "u1").map((p) => p.idx)).toEqual([1]);
  expect(parts(b, "u2")).toEqual(parts(a, "u2"));
  closeDatabase(a);
  closeDatabase(b);
});
