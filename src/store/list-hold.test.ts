// Listing records with a hold: records the caller holds in the listed state
// come back without their data; everything else is as without a hold.
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock, uuidv7Generator } from "../core/clock.ts";
import { ResultsService } from "../core/results-service.ts";
import type { HeldRecord } from "../core/store.ts";
import type { RecordResource } from "../core/types.ts";
import { closeDatabase, openDatabase } from "./db.ts";
import { ReaderPool } from "./readers.ts";
import { SqliteStore } from "./sqlite-store.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-hold-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const enc = new TextEncoder();
const list = { parent: "ns/results/r", filter: "", pageSize: 5, pageToken: "", orderBy: "" };

async function seeded(path: string, readers?: ReaderPool) {
  const db = openDatabase(path);
  const store = new SqliteStore(db, readers);
  const svc = new ResultsService(store, systemClock, uuidv7Generator(systemClock));
  await svc.createResult("ns", { name: "ns/results/r", annotations: {}, summary: null });
  for (let i = 0; i < 8; i++) {
    await svc.createRecord("ns/results/r", { name: `ns/results/r/records/x${i}`, data: { type: "t", value: enc.encode(JSON.stringify({ i, kind: "TaskRun" })) } });
  }
  return { db, store, svc };
}

/**
 * Lists `q` holding every other record of its page: each listed record is
 * asked about once (the page and the one past it) with its stored etag, held
 * ones come back as their handles in the same places, the others whole, and
 * the page token is the one of the list without a hold.
 */
async function expectEveryOtherHeld(svc: ResultsService, q: typeof list) {
  const plain = await svc.listRecords(q);
  const asked: string[] = [];
  const held = await svc.listRecords(q, (uid, etag) => {
    asked.push(`${uid}/${etag}`);
    return plain.items.findIndex((r) => r.uid === uid) % 2 === 0 ? `kept:${etag}` : undefined;
  });
  expect(asked).toEqual((await svc.listRecords({ ...q, pageSize: q.pageSize + 1 })).items.map((r) => `${r.uid}/${r.etag}`));
  expect(held.nextPageToken).toBe(plain.nextPageToken);
  expect(held.items.map((r) => r.uid)).toEqual(plain.items.map((r) => r.uid));
  held.items.forEach((r, i) => {
    if (i % 2 === 0) expect(r).toEqual({ uid: plain.items[i]!.uid, etag: plain.items[i]!.etag, held: `kept:${plain.items[i]!.etag}` });
    else expect(r).toEqual(plain.items[i]!);
  });
}

test("held records come back without data, in the same places and with the same page token", async () => {
  const { db, svc } = await seeded(":memory:");
  await expectEveryOtherHeld(svc, list);
  closeDatabase(db);
});

test("an updated record is asked for with its new etag, a deleted one is not asked for", async () => {
  const { db, svc } = await seeded(":memory:");
  const before = (await svc.listRecords(list)).items;
  const updated = await svc.updateRecord({ name: "ns/results/r/records/x0", data: { type: "", value: enc.encode('{"i":0,"kind":"TaskRun","done":true}') } }, "");
  await svc.deleteRecord("ns/results/r/records/x1");
  const kept = new Map(before.map((r) => [r.uid, r.etag]));
  const page = await svc.listRecords(list, (uid, etag) => (kept.get(uid) === etag ? "old bytes" : undefined));
  const x0 = page.items.find((r) => r.uid === updated.uid)! as RecordResource;
  expect("held" in x0).toBe(false);
  expect(x0.etag).toBe(updated.etag);
  expect(x0.data?.value).toBe('{"i":0,"kind":"TaskRun","done":true}');
  expect(page.items.some((r) => r.uid === before[1]!.uid)).toBe(false);
  closeDatabase(db);
});

async function withReaders(run: (svc: ResultsService, path: string) => Promise<void>) {
  const path = join(dir, `h-${Math.random().toString(36).slice(2)}.db`);
  closeDatabase((await seeded(path)).db);
  const readers = await ReaderPool.start(path, { size: 1 });
  const db = openDatabase(path);
  try {
    await run(new ResultsService(new SqliteStore(db, readers), systemClock, uuidv7Generator(systemClock)), path);
  } finally {
    await readers.close();
    closeDatabase(db);
  }
}

const filtered = { ...list, filter: 'data_type == "t"' };

test("a filtered list (run on a reader thread) asks the hold about the page's keys: held records come back held, only the others are read whole", async () => {
  await withReaders(async (svc) => {
    expect((await svc.listRecords(filtered)).items).toHaveLength(5);
    await expectEveryOtherHeld(svc, filtered);
  });
});

test("a record updated or deleted between the keys and the fetch of a filtered list: the page comes from one snapshot instead", async () => {
  for (const change of ["update", "delete"] as const) {
    await withReaders(async (svc, path) => {
      const plain = await svc.listRecords(filtered);
      const victim = plain.items[1]!;
      let changed = false;
      const page = await svc.listRecords(filtered, (uid, etag) => {
        if (!changed) {
          // Another connection commits while the list is between its two reads.
          const other = new Database(path);
          if (change === "update") other.run("UPDATE records SET etag = 'changed', update_time = update_time + 1 WHERE uid = ?", [victim.uid]);
          else other.run("DELETE FROM records WHERE uid = ?", [victim.uid]);
          other.close();
          changed = true;
        }
        // Holds everything but the victim, which must then be fetched.
        return uid === victim.uid ? undefined : `kept:${etag}`;
      });
      expect(changed).toBe(true);
      // The single-snapshot list reads every record whole, the victim in its new state (or not at all).
      expect(page.items.every((r) => !("held" in r))).toBe(true);
      if (change === "update") expect(page.items.find((r) => r.uid === victim.uid)?.etag).toBe("changed");
      else expect(page.items.some((r) => r.uid === victim.uid)).toBe(false);
      expect(page.items).toHaveLength(5);
    });
  }
});
