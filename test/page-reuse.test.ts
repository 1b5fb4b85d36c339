// Page buffers used again (src/api/grpc/page-buffers.ts) must never let one
// answer carry another's bytes. A real server with a record cache too small
// to keep these pages builds every page afresh; many ListRecords calls, from
// a client with grpc-js's 64 KiB windows (so the transport holds most of each
// page while it waits for window updates) and one with a 4 MiB window, run
// concurrently over pages that differ, and every answer must equal the one
// the same call gave alone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { toBinary } from "@bufbuild/protobuf";
import { ListRecordsResponseSchema, Results } from "../src/gen/api_pb.ts";
import { pageBuffers } from "../src/api/grpc/page-buffers.ts";
import { makeClient } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
const enc = new TextEncoder();
beforeAll(async () => {
  // 1 MiB: pages over a quarter of it (these are ~400 KB) are never kept.
  s = await startTestServer({ config: { recordCacheBytes: 1024 * 1024 } });
  for (const r of ["a", "b"]) {
    await s.client.createResult({ parent: "ns", result: { name: `ns/results/${r}` } });
    for (let i = 0; i < 110; i++) {
      const value = enc.encode(JSON.stringify({ kind: "TaskRun", metadata: { name: `${r}-${i}` }, status: { podName: `${r}${i}`.repeat(1 + (i % 7)), log: "x".repeat(8000 + i) } }));
      await s.client.createRecord({ parent: `ns/results/${r}`, record: { name: `ns/results/${r}/records/${i}`, data: { type: "tekton.dev/v1.TaskRun", value } } });
    }
  }
});
afterAll(() => s?.close());

test("concurrent pages built in reused buffers each carry exactly their own bytes", async () => {
  const narrow = makeClient(Results, s.address);
  const wide = makeClient(Results, s.address, { "grpc-node.flow_control_window": 4 * 1024 * 1024 });
  try {
    const queries = [
      { parent: "ns/results/a", pageSize: 50 },
      { parent: "ns/results/b", pageSize: 50 },
      { parent: "ns/results/-", pageSize: 50, orderBy: "create_time desc" },
      { parent: "ns/results/-", pageSize: 45, filter: 'data.metadata.name.startsWith("b-")' },
    ];
    const expected: Uint8Array[] = [];
    for (const q of queries) {
      const first = await s.client.listRecords(q);
      expected.push(toBinary(ListRecordsResponseSchema, first));
      // The second page too, through its token.
      expected.push(toBinary(ListRecordsResponseSchema, await s.client.listRecords({ ...q, pageToken: first.nextPageToken })));
    }
    const tokens = await Promise.all(queries.map(async (q) => (await s.client.listRecords(q)).nextPageToken));
    for (const e of expected) expect(e.byteLength).toBeGreaterThan(300 * 1024);
    const reusedBefore = pageBuffers.reused;
    const calls = Array.from({ length: 96 }, (_, i) => {
      const qi = i % queries.length;
      const second = Math.floor(i / queries.length) % 2 === 1;
      const client = i % 3 === 0 ? wide : narrow;
      return client.listRecords({ ...queries[qi]!, pageToken: second ? tokens[qi]! : "" }).then((r) => ({ i: qi * 2 + (second ? 1 : 0), bytes: toBinary(ListRecordsResponseSchema, r) }));
    });
    for (const { i, bytes } of await Promise.all(calls)) expect(Buffer.from(bytes).equals(Buffer.from(expected[i]!))).toBe(true);
    // The pool was exercised: buffers were used again during the burst.
    expect(pageBuffers.reused).toBeGreaterThan(reusedBefore);
  } finally {
    narrow.close();
    wide.close();
  }
}, 60_000);
