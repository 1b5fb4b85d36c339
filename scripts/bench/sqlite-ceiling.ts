/**
 * Ceiling A: bare bun:sqlite, one process, inserting the very payloads the
 * ingest benchmark sends (the 4 lifecycle states of each simulated run) into
 * a one-table database with the pragmas of src/store/db.ts (WAL,
 * synchronous=NORMAL, wal_autocheckpoint=8000, 32 MiB cache). Measured four
 * ways: one transaction per insert vs. 32 inserts per transaction (what group
 * commit can reach with 32 calls in flight), and the payload stored as text
 * vs. converted with jsonb(?) as Hindsight stores it. The goal uses the
 * batched, plain-text figure: the highest, hence strictest, ceiling.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRunPool, dbBytes, fmtInt, fmtKB, fmtMB, fmtMs, progress, summarize, type BenchReport } from "./lib.ts";

const INSERTS = Number(process.env.BENCH_SQLITE_INSERTS ?? 20_000);
const BATCH = 32;

function open(path: string): Database {
  const db = new Database(path, { create: true, readwrite: true, strict: true });
  db.run("PRAGMA busy_timeout = 10000");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA wal_autocheckpoint = 8000");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA cache_size = -32768");
  db.run("PRAGMA temp_store = MEMORY");
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB)");
  return db;
}

interface Mode {
  label: string;
  batch: number;
  jsonb: boolean;
}

export async function run(): Promise<BenchReport> {
  progress(`ceiling A: building ${INSERTS} payloads`);
  const pool = buildRunPool(1, Math.ceil(INSERTS / 4));
  const dec = new TextDecoder();
  const payloads: string[] = [];
  for (const r of pool) for (const s of r.stages) payloads.push(dec.decode(s));
  payloads.length = INSERTS;
  const payloadBytes = payloads.reduce((a, p) => a + Buffer.byteLength(p), 0);
  const modes: Mode[] = [
    { label: "1 insert / transaction, text", batch: 1, jsonb: false },
    { label: `${BATCH} inserts / transaction, text`, batch: BATCH, jsonb: false },
    { label: "1 insert / transaction, jsonb(?)", batch: 1, jsonb: true },
    { label: `${BATCH} inserts / transaction, jsonb(?)`, batch: BATCH, jsonb: true },
  ];
  const rows: string[][] = [];
  const figures: Record<string, number> = {};
  for (const m of modes) {
    const dir = mkdtempSync(join(tmpdir(), "hindsight-bench-a-"));
    const path = join(dir, "a.db");
    const db = open(path);
    const ins = db.prepare(`INSERT INTO t (name, data) VALUES (?, ${m.jsonb ? "jsonb(?)" : "?"})`);
    const begin = db.prepare("BEGIN IMMEDIATE");
    const commit = db.prepare("COMMIT");
    const lat = new Float64Array(Math.ceil(INSERTS / m.batch));
    Bun.gc(true);
    const t0 = performance.now();
    for (let i = 0, b = 0; i < INSERTS; i += m.batch, b++) {
      const s = performance.now();
      if (m.batch > 1) begin.run();
      for (let j = i; j < Math.min(INSERTS, i + m.batch); j++) ins.run(`run-${j}`, payloads[j]!);
      if (m.batch > 1) commit.run();
      lat[b] = performance.now() - s;
    }
    const secs = (performance.now() - t0) / 1000;
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close(false);
    const size = dbBytes(path).total;
    rmSync(dir, { recursive: true, force: true });
    const l = summarize(lat);
    const rate = INSERTS / secs;
    figures[`${m.batch}:${m.jsonb ? "jsonb" : "text"}`] = rate;
    rows.push([m.label, fmtInt(rate), fmtMB(payloadBytes / secs), fmtMs(l.p50), fmtMs(l.p99), fmtKB(size / INSERTS)]);
    progress(`ceiling A: ${m.label}: ${fmtInt(rate)} inserts/s`);
  }
  figures.ceilingA = figures[`${BATCH}:text`]!;
  return {
    name: "sqlite-ceiling",
    figures,
    tables: [
      {
        title: `Ceiling A: bare bun:sqlite inserts, one process (${fmtInt(INSERTS)} payloads, mean ${fmtKB(payloadBytes / INSERTS)} KiB)`,
        headers: ["mode", "inserts/s", "MiB/s", "p50 ms / commit", "p99 ms / commit", "KiB on disk / row"],
        rows,
        note: `Ceiling A for the goal = the ${BATCH}-per-transaction, plain-text figure (${fmtInt(figures.ceilingA)} inserts/s).`,
      },
    ],
  };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
