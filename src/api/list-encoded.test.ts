// ListRecords answered from the encoded-record cache (REST JSON and gRPC
// protobuf) against the same call through the message encoders, on a real
// store: cold, warm, after updates and deletes, across pages, filtered (on a
// reader thread), and with a cache far smaller than a page. Any stale or
// misplaced bytes make the two differ.
import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { systemClock, uuidv7Generator } from "../core/clock.ts";
import { ResultsService } from "../core/results-service.ts";
import { ListRecordsRequestSchema, ListRecordsResponseSchema, type ListRecordsResponse } from "../gen/api_pb.ts";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { ReaderPool } from "../store/readers.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { EncodedRecordCache } from "./encoded-cache.ts";
import { binaryPage } from "./grpc/list-page.ts";
import { emptyContext, resultsRpc, type PageEncoding, type Rpc } from "./results-rpc.ts";
import { encodeMessage } from "./rest/json.ts";
import { jsonPage } from "./rest/list-page.ts";

let dir: string;
let db: Database;
let readers: ReaderPool;
let svc: ResultsService;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hindsight-encoded-"));
  const path = join(dir, "h.db");
  db = openDatabase(path);
  readers = await ReaderPool.start(path, { size: 1 });
  svc = new ResultsService(new SqliteStore(db, readers), systemClock, uuidv7Generator(systemClock));
  await svc.createResult("ns", { name: "ns/results/r", annotations: {}, summary: null });
  for (let i = 0; i < 12; i++) await svc.createRecord("ns/results/r", { name: `ns/results/r/records/x${i}`, data: data(i, "running") });
});
afterAll(async () => {
  await readers.close();
  closeDatabase(db);
  rmSync(dir, { recursive: true, force: true });
});

function data(i: number, state: string) {
  const doc = { kind: "TaskRun", metadata: { name: `x${i}` }, status: { state, note: "é ✓", log: "y".repeat(3000 + i) } };
  return { type: i % 2 ? "tekton.dev/v1.TaskRun" : "tekton.dev/v1.PipelineRun", value: new TextEncoder().encode(JSON.stringify(doc)) };
}

const encoders: Array<[PageEncoding, (m: ListRecordsResponse) => Uint8Array]> = [
  [jsonPage, (m) => new TextEncoder().encode(encodeMessage(ListRecordsResponseSchema, m))],
  [binaryPage, (m) => toBinary(ListRecordsResponseSchema, m)],
];

/** Every page of `q` both ways, for both encodings; returns the JSON pages' texts. */
async function walk(rpc: Map<string, Rpc>, q: { parent: string; pageSize: number; filter?: string; orderBy?: string }): Promise<string[]> {
  const list = rpc.get("listRecords")!;
  const texts: string[] = [];
  for (const [enc, whole] of encoders) {
    let pageToken = "";
    do {
      const req = create(ListRecordsRequestSchema, { ...q, pageToken }) as MessageShape<DescMessage>;
      const got = (await list.encoded!(req, emptyContext, enc))!;
      const res = (await list.call(req, emptyContext)) as ListRecordsResponse;
      expect(Buffer.compare(Buffer.from(got), Buffer.from(whole(res)))).toBe(0);
      if (enc === jsonPage) texts.push(Buffer.from(got).toString());
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
  }
  return texts;
}

test("cold and warm, across pages and orders, unfiltered and filtered: the same bytes as the message encoders", async () => {
  const cache = new EncodedRecordCache(16 << 20);
  const rpc = resultsRpc(svc, cache);
  for (const q of [
    { parent: "ns/results/r", pageSize: 5 },
    { parent: "-/results/-", pageSize: 5, orderBy: "create_time desc" },
    { parent: "ns/results/-", pageSize: 5, filter: 'data_type == "tekton.dev/v1.TaskRun"' },
  ]) {
    const cold = await walk(rpc, q);
    const hits = cache.hits;
    expect(await walk(rpc, q)).toEqual(cold);
    expect(cache.hits).toBeGreaterThan(hits); // the second walk came from the cache
  }
});

test("after an update the list has the new data and etag; after a delete the record is gone", async () => {
  const cache = new EncodedRecordCache(16 << 20);
  const rpc = resultsRpc(svc, cache);
  const q = { parent: "ns/results/r", pageSize: 50 };
  const before = JSON.parse((await walk(rpc, q))[0]!) as { records: Array<{ name: string; etag: string; data: { value: string } }> };
  await walk(rpc, q); // every record and the page cached
  const updated = await svc.updateRecord({ name: "ns/results/r/records/x3", data: data(3, "done") }, "");
  await svc.deleteRecord("ns/results/r/records/x4");
  const after = JSON.parse((await walk(rpc, q))[0]!) as typeof before;
  expect(after.records).toHaveLength(before.records.length - 1);
  expect(after.records.some((r) => r.name.endsWith("/x4"))).toBe(false);
  const x3 = after.records.find((r) => r.name.endsWith("/x3"))!;
  expect(x3.etag).toBe(updated.etag);
  expect(x3.etag).not.toBe(before.records.find((r) => r.name.endsWith("/x3"))!.etag);
  expect(JSON.parse(Buffer.from(x3.data.value, "base64").toString()).status.state).toBe("done");
  // Filtered lists (reader thread, whole rows) see the change too.
  const filtered = (await walk(rpc, { parent: "ns/results/-", pageSize: 50, filter: 'data_type == "tekton.dev/v1.TaskRun"' }))[0]!;
  expect(JSON.parse(filtered).records.find((r: { name: string }) => r.name.endsWith("/x3")).etag).toBe(updated.etag);
});

test("a cache much smaller than a page stays within its budget and answers exactly", async () => {
  const cache = new EncodedRecordCache(48 * 1024); // about ten records, and no page (each over an eighth of it)
  const rpc = resultsRpc(svc, cache);
  for (let round = 0; round < 3; round++) {
    await walk(rpc, { parent: "-/results/-", pageSize: 5 });
    expect(cache.bytes).toBeLessThanOrEqual(48 * 1024);
  }
});

test("a partial-response mask takes the message path", async () => {
  const rpc = resultsRpc(svc, new EncodedRecordCache(1 << 20));
  const req = create(ListRecordsRequestSchema, { parent: "ns/results/r" }) as MessageShape<DescMessage>;
  expect(await rpc.get("listRecords")!.encoded!(req, { authorization: "", fields: ["records.name"] }, jsonPage)).toBeNull();
});
