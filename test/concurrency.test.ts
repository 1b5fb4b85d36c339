// Optimistic concurrency and concurrent writers over a real server.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "./support/grpc-client.ts";
import { makeClient } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { json, parse, uniqueParent } from "./support/wire.ts";
import { Results } from "../src/gen/api_pb.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

test("50 concurrent UpdateRecord calls with the same etag: exactly one wins", async () => {
  const p = uniqueParent();
  const res = await s.client.createResult({ parent: p, result: { name: `${p}/results/r` } });
  const rec = await s.client.createRecord({ parent: res.name, record: { name: `${res.name}/records/x`, data: { type: "T", value: json({ n: -1 }) } } });
  // Several connections, so the calls really arrive concurrently.
  const clients = Array.from({ length: 5 }, () => makeClient(Results, s.address));
  const outcomes = await Promise.allSettled(
    Array.from({ length: 50 }, (_, i) =>
      clients[i % 5]!.updateRecord({ etag: rec.etag, record: { name: rec.name, data: { value: json({ n: i }) } } }),
    ),
  );
  clients.forEach((c) => c.close());
  const ok = outcomes.filter((o) => o.status === "fulfilled");
  const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
  expect(ok).toHaveLength(1);
  expect(failed).toHaveLength(49);
  for (const f of failed) expect((f.reason as { code: number }).code).toBe(Code.FAILED_PRECONDITION);
  const winner = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof s.client.updateRecord>>>).value;
  const stored = await s.client.getRecord({ name: rec.name });
  expect(stored.etag).toBe(winner.etag);
  expect(parse(stored.data?.value)).toEqual(parse(winner.data?.value));
});

test("50 concurrent UpdateResult calls with the same etag: exactly one wins", async () => {
  const p = uniqueParent();
  const res = await s.client.createResult({ parent: p, result: { name: `${p}/results/r` } });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 50 }, (_, i) =>
      s.client.updateResult({ name: res.name, etag: res.etag, result: { annotations: { n: String(i) } } }),
    ),
  );
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
  for (const o of outcomes) if (o.status === "rejected") expect((o.reason as { code: number }).code).toBe(Code.FAILED_PRECONDITION);
});

test("successive updates always get distinct etags and increasing update times", async () => {
  const p = uniqueParent();
  const res = await s.client.createResult({ parent: p, result: { name: `${p}/results/r` } });
  const rec = await s.client.createRecord({ parent: res.name, record: { name: `${res.name}/records/x` } });
  const etags = new Set([rec.etag]);
  let etag = rec.etag;
  for (let i = 0; i < 30; i++) {
    const u = await s.client.updateRecord({ etag, record: { name: rec.name } });
    expect(etags.has(u.etag)).toBe(false);
    etags.add(u.etag);
    etag = u.etag;
  }
});

test("concurrent creates of the same name: one succeeds, the rest ALREADY_EXISTS, one row stored", async () => {
  const p = uniqueParent();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 40 }, () => s.client.createResult({ parent: p, result: { name: `${p}/results/same` } })),
  );
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
  for (const o of outcomes) if (o.status === "rejected") expect((o.reason as { code: number }).code).toBe(Code.ALREADY_EXISTS);
  expect((await s.client.listResults({ parent: p })).results).toHaveLength(1);
});

test("a mixed burst of good and bad writes: each gets its own answer, good ones all stored", async () => {
  const p = uniqueParent();
  const res = await s.client.createResult({ parent: p, result: { name: `${p}/results/r` } });
  const calls = Array.from({ length: 200 }, (_, i) =>
    s.client.createRecord({
      parent: res.name,
      record: {
        name: `${res.name}/records/r${i}`,
        data: { type: "T", value: i % 4 === 0 ? new TextEncoder().encode("{broken") : json({ i }) },
      },
    }),
  );
  const outcomes = await Promise.allSettled(calls);
  outcomes.forEach((o, i) => {
    if (i % 4 === 0) {
      expect(o.status).toBe("rejected");
      expect(((o as PromiseRejectedResult).reason as { code: number }).code).toBe(Code.INVALID_ARGUMENT);
    } else expect(o.status).toBe("fulfilled");
  });
  const listed = await s.client.listRecords({ parent: res.name, pageSize: 1000 });
  expect(listed.records).toHaveLength(150);
});

test("deleting a result while records are created under it: no orphan records remain", async () => {
  const p = uniqueParent();
  const res = await s.client.createResult({ parent: p, result: { name: `${p}/results/r` } });
  const creates = Array.from({ length: 100 }, (_, i) =>
    s.client.createRecord({ parent: res.name, record: { name: `${res.name}/records/r${i}` } }),
  );
  const del = s.client.deleteResult({ name: res.name });
  const outcomes = await Promise.allSettled([...creates, del]);
  for (const o of outcomes.slice(0, 100)) {
    if (o.status === "rejected") expect((o.reason as { code: number }).code).toBe(Code.NOT_FOUND);
  }
  expect(outcomes[100]!.status).toBe("fulfilled");
  const orphans = s.app.db
    .query("SELECT count(*) AS n FROM records WHERE result_rid NOT IN (SELECT rid FROM results)")
    .get() as { n: number };
  expect(orphans.n).toBe(0);
  expect((await s.client.listRecords({ parent: `${p}/results/-` })).records).toHaveLength(0);
});
