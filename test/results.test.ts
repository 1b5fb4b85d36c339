// Results CRUD over a real gRPC server and SQLite file: spec §13.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { expectedEtag, nanos, uniqueParent } from "./support/wire.ts";
import { RecordSummary_Status } from "../src/gen/resources_pb.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const summary = (p: string, r = "bar") => ({
  record: `${p}/results/${r}/records/${r}`,
  type: "tekton.dev/v1.PipelineRun",
  status: RecordSummary_Status.SUCCESS,
  startTime: { seconds: 1700000000n, nanos: 0 },
  endTime: { seconds: 1700000060n, nanos: 500_000_000 },
  annotations: { branch: "main" },
});

describe("CreateResult", () => {
  test("returns server fields: uid = id, four equal times, etag formula; GetResult agrees (#1)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, annotations: { foo: "bar" } } });
    expect(r.name).toBe(`${p}/results/bar`);
    expect(r.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.id).toBe(r.uid);
    expect(nanos(r.createTime)).toBeGreaterThan(0n);
    for (const t of [r.createdTime, r.updateTime, r.updatedTime]) expect(nanos(t)).toBe(nanos(r.createTime));
    expect(r.etag).toBe(expectedEtag(r.uid, r.updateTime));
    expect(r.annotations).toEqual({ foo: "bar" });
    const got = await s.client.getResult({ name: r.name });
    expect(got).toEqual(r);
  });

  test("parent that differs from the name's parent is INVALID_ARGUMENT (#2)", async () => {
    const e = await grpcError(s.client.createResult({ parent: "foo", result: { name: "baz/results/bar" } }));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect(e.details).toContain("requested parent does not match resource name");
  });

  test("missing result or name is INVALID_ARGUMENT (#3)", async () => {
    expect((await grpcError(s.client.createResult({ parent: "foo", result: {} }))).code).toBe(Code.INVALID_ARGUMENT);
    const e = await grpcError(s.client.createResult({ parent: "foo" }));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect(e.details).toContain("result");
  });

  test("creating the same name twice is ALREADY_EXISTS (#4)", async () => {
    const p = uniqueParent();
    await s.client.createResult({ parent: p, result: { name: `${p}/results/bar` } });
    const e = await grpcError(s.client.createResult({ parent: p, result: { name: `${p}/results/bar` } }));
    expect(e.code).toBe(Code.ALREADY_EXISTS);
  });

  test("malformed names are INVALID_ARGUMENT naming the field (#5)", async () => {
    for (const name of ["foo/results/" + "a".repeat(256), "foo/results/", "foo/results", "/results/b", "foo/b/results/c", "Foo/results/b", "foo/results/b.c"]) {
      const parent = name.split("/")[0] ?? "";
      const e = await grpcError(s.client.createResult({ parent, result: { name } }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("result.name");
      expect(e.details).toContain("name must match");
    }
  });

  test("summary validation: type > 768, empty summary, bad record (#6, #7)", async () => {
    const p = uniqueParent();
    const cases = [
      { ...summary(p), type: "t".repeat(1024) },
      {},
      { ...summary(p), record: "not-a-record-name" },
      { ...summary(p), record: "" },
    ];
    for (const sm of cases) {
      const e = await grpcError(s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, summary: sm } }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("summary");
    }
    // Nothing was stored by the refused calls.
    expect((await s.client.listResults({ parent: p })).results).toHaveLength(0);
  });

  test("client-supplied uid, id, etag and times are replaced (#8)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({
      parent: p,
      result: {
        name: `${p}/results/bar`,
        uid: "client-uid",
        id: "client-id",
        etag: "client-etag",
        createTime: { seconds: 1n, nanos: 0 },
        updateTime: { seconds: 2n, nanos: 0 },
      },
    });
    expect(r.uid).not.toBe("client-uid");
    expect(r.id).toBe(r.uid);
    expect(r.etag).toBe(expectedEtag(r.uid, r.updateTime));
    expect(nanos(r.createTime)).toBeGreaterThan(1_000_000_000_000_000n);
  });

  test("summary round-trips with status enum and times", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, summary: summary(p) } });
    const got = await s.client.getResult({ name: r.name });
    expect(got.summary?.status).toBe(RecordSummary_Status.SUCCESS);
    expect(got.summary?.endTime?.nanos).toBe(500_000_000);
    expect(got.summary?.annotations).toEqual({ branch: "main" });
    expect(got.summary?.record).toBe(`${p}/results/bar/records/bar`);
  });
});

describe("GetResult", () => {
  test("empty name is INVALID_ARGUMENT; missing result is NOT_FOUND (#9)", async () => {
    expect((await grpcError(s.client.getResult({ name: "" }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(s.client.getResult({ name: "a/results/doesnotexist" }))).code).toBe(Code.NOT_FOUND);
  });
});

describe("UpdateResult", () => {
  test("with the right etag replaces annotations and summary, advances update_time (#10)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, annotations: { a: "1", b: "2" } } });
    const u = await s.client.updateResult({
      name: r.name,
      etag: r.etag,
      result: { name: r.name, annotations: { c: "3" }, summary: summary(p) },
    });
    expect(u.annotations).toEqual({ c: "3" });
    expect(u.summary?.type).toBe("tekton.dev/v1.PipelineRun");
    expect(nanos(u.updateTime)).toBeGreaterThan(nanos(r.updateTime));
    expect(nanos(u.createTime)).toBe(nanos(r.createTime));
    expect(u.uid).toBe(r.uid);
    expect(u.etag).not.toBe(r.etag);
    expect(u.etag).toBe(expectedEtag(u.uid, u.updateTime));
    expect(await s.client.getResult({ name: r.name })).toEqual(u);
  });

  test("an absent result clears annotations and summary (#11)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, annotations: { a: "1" }, summary: summary(p) } });
    const u = await s.client.updateResult({ name: r.name });
    expect(u.annotations).toEqual({});
    expect(u.summary).toBeUndefined();
    expect((await s.client.getResult({ name: r.name })).summary).toBeUndefined();
  });

  test("invalid name is INVALID_ARGUMENT; missing result is NOT_FOUND, no upsert (#12, #13)", async () => {
    expect((await grpcError(s.client.updateResult({ name: "invalid name" }))).code).toBe(Code.INVALID_ARGUMENT);
    const p = uniqueParent();
    const e = await grpcError(s.client.updateResult({ name: `${p}/results/bar-non-existent`, result: { annotations: { a: "b" } } }));
    expect(e.code).toBe(Code.NOT_FOUND);
    expect((await s.client.listResults({ parent: p })).results).toHaveLength(0);
  });

  test("a wrong etag is FAILED_PRECONDITION and changes nothing; empty etag updates (#14)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, annotations: { a: "1" } } });
    const e = await grpcError(s.client.updateResult({ name: r.name, etag: "invalid etag", result: { annotations: { a: "2" } } }));
    expect(e.code).toBe(Code.FAILED_PRECONDITION);
    expect(e.details).toContain("etag");
    expect(await s.client.getResult({ name: r.name })).toEqual(r);
    const u = await s.client.updateResult({ name: r.name, result: { annotations: { a: "3" } } });
    expect(u.annotations).toEqual({ a: "3" });
  });

  test("summary {} is INVALID_ARGUMENT and changes nothing (#15)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar`, annotations: { a: "1" } } });
    const e = await grpcError(s.client.updateResult({ name: r.name, result: { annotations: {}, summary: {} } }));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect(await s.client.getResult({ name: r.name })).toEqual(r);
  });

  test("name falls back to result.name when the request name is empty (REST superset, #16)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar` } });
    const u = await s.client.updateResult({ result: { name: r.name, annotations: { via: "body" } } });
    expect(u.annotations).toEqual({ via: "body" });
  });
});

describe("DeleteResult", () => {
  test("delete, then get and delete again are NOT_FOUND (#17)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar` } });
    await s.client.deleteResult({ name: r.name });
    expect((await grpcError(s.client.getResult({ name: r.name }))).code).toBe(Code.NOT_FOUND);
    expect((await grpcError(s.client.deleteResult({ name: r.name }))).code).toBe(Code.NOT_FOUND);
  });

  test("deleting a result deletes its records (#18)", async () => {
    const p = uniqueParent();
    const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar` } });
    const rec = await s.client.createRecord({ parent: r.name, record: { name: `${r.name}/records/baz` } });
    await s.client.deleteResult({ name: r.name });
    expect((await grpcError(s.client.getRecord({ name: rec.name }))).code).toBe(Code.NOT_FOUND);
    expect((await s.client.listRecords({ parent: `${p}/results/-` })).records).toHaveLength(0);
    // The name is free again, and the old records do not come back.
    await s.client.createResult({ parent: p, result: { name: r.name } });
    expect((await s.client.listRecords({ parent: r.name })).records).toHaveLength(0);
  });

  test("malformed name is INVALID_ARGUMENT (#19)", async () => {
    expect((await grpcError(s.client.deleteResult({ name: "a/results" }))).code).toBe(Code.INVALID_ARGUMENT);
  });
});
