// Records CRUD over a real gRPC server and SQLite file: spec §13.2.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { expectedEtag, json, nanos, parse, uniqueParent } from "./support/wire.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const taskRun = (name: string, reason = "Succeeded") => ({
  apiVersion: "tekton.dev/v1",
  kind: "TaskRun",
  metadata: { name, namespace: "default", uid: crypto.randomUUID(), labels: { "tekton.dev/task": "build" } },
  spec: { taskRef: { name: "build" }, serviceAccountName: "default" },
  status: { conditions: [{ type: "Succeeded", status: "True", reason }], podName: `${name}-pod` },
});

async function newResult(): Promise<string> {
  const p = uniqueParent();
  const r = await s.client.createResult({ parent: p, result: { name: `${p}/results/bar` } });
  return r.name;
}

describe("CreateRecord", () => {
  test("echoes name and data; uid = id; four equal times; etag formula (#20)", async () => {
    const parent = await newResult();
    const doc = taskRun("tr-1");
    const r = await s.client.createRecord({
      parent,
      record: { name: `${parent}/records/baz`, data: { type: "TaskRun", value: json(doc) } },
    });
    expect(r.name).toBe(`${parent}/records/baz`);
    expect(r.data?.type).toBe("TaskRun");
    expect(parse(r.data?.value)).toEqual(doc);
    expect(r.uid).toBeTruthy();
    expect(r.id).toBe(r.uid);
    for (const t of [r.createdTime, r.updateTime, r.updatedTime]) expect(nanos(t)).toBe(nanos(r.createTime));
    expect(r.etag).toBe(expectedEtag(r.uid, r.updateTime));
  });

  test("record name in another result than parent is INVALID_ARGUMENT (#21)", async () => {
    const parent = await newResult();
    const e = await grpcError(s.client.createRecord({ parent, record: { name: `${parent}-other/records/baz` } }));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect(e.details).toContain("requested parent does not match resource name");
  });

  test("under a missing result is NOT_FOUND (#22)", async () => {
    const p = uniqueParent();
    const e = await grpcError(s.client.createRecord({ parent: `${p}/results/nope`, record: { name: `${p}/results/nope/records/baz` } }));
    expect(e.code).toBe(Code.NOT_FOUND);
  });

  test("malformed record names are INVALID_ARGUMENT naming record.name (#23)", async () => {
    const parent = await newResult();
    for (const name of [`${parent}/results/`, parent, `${parent}/records/`, `${parent}/records/a/b`, `${parent}/records/UPPER`]) {
      const e = await grpcError(s.client.createRecord({ parent, record: { name } }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("record.name");
    }
    expect((await grpcError(s.client.createRecord({ parent }))).code).toBe(Code.INVALID_ARGUMENT);
  });

  test("the same name twice is ALREADY_EXISTS (#24)", async () => {
    const parent = await newResult();
    await s.client.createRecord({ parent, record: { name: `${parent}/records/baz` } });
    const e = await grpcError(s.client.createRecord({ parent, record: { name: `${parent}/records/baz` } }));
    expect(e.code).toBe(Code.ALREADY_EXISTS);
  });

  test("bad data is INVALID_ARGUMENT and stores nothing; no data is fine (#25)", async () => {
    const parent = await newResult();
    const bad = [
      { type: "TaskRun", value: new Uint8Array() },
      { type: "TaskRun", value: new TextEncoder().encode("{not json") },
      { type: "TaskRun", value: new TextEncoder().encode("{a: 1}") }, // JSON5 is not JSON
      { type: "TaskRun", value: new TextEncoder().encode('{"a":1} trailing') },
      { type: "TaskRun", value: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }, // invalid UTF-8
      { type: "t".repeat(769), value: json({}) },
      { type: "TaskRun", value: new TextEncoder().encode("[".repeat(1001) + "]".repeat(1001)) }, // deeper than the store's parser goes
    ];
    for (const data of bad) {
      const e = await grpcError(s.client.createRecord({ parent, record: { name: `${parent}/records/baz`, data } }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("record.data");
    }
    expect((await s.client.listRecords({ parent })).records).toHaveLength(0);
    // The same values refused by UpdateRecord (but the empty one, which keeps the stored value); the stored record is unchanged.
    const ok = await s.client.createRecord({ parent, record: { name: `${parent}/records/kept`, data: { type: "TaskRun", value: json({ v: 1 }) } } });
    for (const data of bad.slice(1)) {
      const e = await grpcError(s.client.updateRecord({ record: { name: ok.name, data } }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("record.data");
    }
    const kept = await s.client.getRecord({ name: ok.name });
    expect(kept.etag).toBe(ok.etag);
    expect(parse(kept.data?.value)).toEqual({ v: 1 });
    await s.client.deleteRecord({ name: ok.name });
    const r = await s.client.createRecord({ parent, record: { name: `${parent}/records/nodata` } });
    expect(r.data).toBeUndefined();
    expect((await s.client.getRecord({ name: r.name })).data).toBeUndefined();
  });

  test("any JSON value is accepted, and a 768-byte type is the limit", async () => {
    const parent = await newResult();
    const values = ['"a string"', "42", "null", "[1,2,3]", '{"big": 123456789012345678901234567890}', '{"nul":"a\\u0000b"}'];
    for (const [i, v] of values.entries()) {
      const r = await s.client.createRecord({
        parent,
        record: { name: `${parent}/records/v${i}`, data: { type: "t".repeat(768), value: new TextEncoder().encode(v) } },
      });
      const got = await s.client.getRecord({ name: r.name });
      expect(parse(got.data?.value)).toEqual(JSON.parse(v));
    }
    // Big integers keep their digits (they are not squeezed through a double).
    const big = await s.client.getRecord({ name: `${parent}/records/v4` });
    expect(new TextDecoder().decode(big.data?.value)).toContain("123456789012345678901234567890");
  });

  test("strict run types reject wrongly typed fields (#26)", async () => {
    const parent = await newResult();
    const e = await grpcError(
      s.client.createRecord({
        parent,
        record: { name: `${parent}/records/baz`, data: { type: "pipeline.tekton.dev/TaskRun", value: json({ metadata: "not an object" }) } },
      }),
    );
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    const ok = await s.client.createRecord({
      parent,
      record: { name: `${parent}/records/ok`, data: { type: "pipeline.tekton.dev/TaskRun", value: json(taskRun("x")) } },
    });
    expect(ok.data?.type).toBe("pipeline.tekton.dev/TaskRun");
  });
});

describe("GetRecord", () => {
  test("empty name and result names are INVALID_ARGUMENT; missing is NOT_FOUND; found equals create (#27)", async () => {
    expect((await grpcError(s.client.getRecord({ name: "" }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(s.client.getRecord({ name: "a/results/doesnotexist" }))).code).toBe(Code.INVALID_ARGUMENT);
    const parent = await newResult();
    expect((await grpcError(s.client.getRecord({ name: `${parent}/records/missing` }))).code).toBe(Code.NOT_FOUND);
    const doc = taskRun("tr");
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz`, data: { type: "TaskRun", value: json(doc) } } });
    const g = await s.client.getRecord({ name: c.name });
    expect({ ...g, data: undefined }).toEqual({ ...c, data: undefined });
    expect(g.data?.type).toBe("TaskRun");
    expect(parse(g.data?.value)).toEqual(doc);
  });
});

describe("UpdateRecord", () => {
  test("new value only: value replaced, type kept, update_time advanced, new etag (#28)", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz`, data: { type: "TaskRun", value: json(taskRun("a")) } } });
    const next = taskRun("a", "Failed");
    const u = await s.client.updateRecord({ etag: c.etag, record: { name: c.name, data: { value: json(next) } } });
    expect(u.data?.type).toBe("TaskRun");
    expect(parse(u.data?.value)).toEqual(next);
    expect(nanos(u.updateTime)).toBeGreaterThan(nanos(c.updateTime));
    expect(nanos(u.createTime)).toBe(nanos(c.createTime));
    expect(u.etag).toBe(expectedEtag(u.uid, u.updateTime));
    expect(u.etag).not.toBe(c.etag);
    const g = await s.client.getRecord({ name: c.name });
    expect(parse(g.data?.value)).toEqual(next);
    expect(g.etag).toBe(u.etag);
  });

  test("new type only keeps the value; no data keeps everything", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz`, data: { type: "A", value: json({ x: 1 }) } } });
    const u = await s.client.updateRecord({ record: { name: c.name, data: { type: "B" } } });
    expect(u.data?.type).toBe("B");
    expect(parse(u.data?.value)).toEqual({ x: 1 });
    const u2 = await s.client.updateRecord({ record: { name: c.name } });
    expect(u2.data?.type).toBe("B");
    expect(parse(u2.data?.value)).toEqual({ x: 1 });
  });

  test("output-only fields in the input are ignored (#29)", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz` } });
    const u = await s.client.updateRecord({ record: { name: c.name, id: "ignored", uid: "ignored", etag: "ignored" } });
    expect(u.uid).toBe(c.uid);
    expect(u.id).toBe(c.uid);
  });

  test("missing record is NOT_FOUND, no upsert (#30); bad name is INVALID_ARGUMENT (#31)", async () => {
    const parent = await newResult();
    expect((await grpcError(s.client.updateRecord({ record: { name: `${parent}/records/nope` } }))).code).toBe(Code.NOT_FOUND);
    expect((await s.client.listRecords({ parent })).records).toHaveLength(0);
    expect((await grpcError(s.client.updateRecord({ record: { name: "tacocat" } }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(s.client.updateRecord({}))).code).toBe(Code.INVALID_ARGUMENT);
  });

  test("mismatching etag is FAILED_PRECONDITION and changes nothing (#32)", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz`, data: { type: "A", value: json({ v: 1 }) } } });
    const e = await grpcError(s.client.updateRecord({ etag: `${c.uid}-1`, record: { name: c.name, data: { value: json({ v: 2 }) } } }));
    expect(e.code).toBe(Code.FAILED_PRECONDITION);
    const g = await s.client.getRecord({ name: c.name });
    expect(g.etag).toBe(c.etag);
    expect(parse(g.data?.value)).toEqual({ v: 1 });
  });

  test("invalid new data is INVALID_ARGUMENT and changes nothing", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz`, data: { type: "A", value: json({ v: 1 }) } } });
    const e = await grpcError(s.client.updateRecord({ record: { name: c.name, data: { value: new TextEncoder().encode("nope") } } }));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect((await s.client.getRecord({ name: c.name })).etag).toBe(c.etag);
  });
});

describe("DeleteRecord", () => {
  test("delete, then get and delete again are NOT_FOUND (#33)", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({ parent, record: { name: `${parent}/records/baz` } });
    await s.client.deleteRecord({ name: c.name });
    expect((await grpcError(s.client.getRecord({ name: c.name }))).code).toBe(Code.NOT_FOUND);
    expect((await grpcError(s.client.deleteRecord({ name: c.name }))).code).toBe(Code.NOT_FOUND);
    expect((await grpcError(s.client.deleteRecord({ name: "x" }))).code).toBe(Code.INVALID_ARGUMENT);
  });
});

describe("Log records", () => {
  test("are normalised on store: kind, apiVersion, spec.type default, status fields (#34)", async () => {
    const parent = await newResult();
    const c = await s.client.createRecord({
      parent,
      record: {
        name: `${parent}/records/log`,
        data: {
          type: "results.tekton.dev/v1alpha3.Log",
          value: json({
            metadata: { name: "tr-log", namespace: "default", uid: "abc" },
            spec: { resource: { kind: "TaskRun", namespace: "default", name: "tr", uid: "u1" } },
            extra: "dropped",
          }),
        },
      },
    });
    const doc = parse((await s.client.getRecord({ name: c.name })).data?.value);
    expect(doc.kind).toBe("Log");
    expect(doc.apiVersion).toBe("results.tekton.dev/v1alpha3");
    expect(doc.spec.type).toBe("File");
    expect(doc.spec.resource).toEqual({ kind: "TaskRun", namespace: "default", name: "tr", uid: "u1" });
    expect(doc.status).toEqual({ size: 0, isStored: false, errorOnStoreMsg: "", isRetryableErr: false });
    expect(doc.extra).toBeUndefined();
    expect(parse(c.data?.value)).toEqual(doc);
  });
});
