// The Logs API over real gRPC and REST servers and a real SQLite file:
// spec §13.4 checks 60-71 (adapted: bytes live in the database, not in
// files), plus uploads that die half-way, bad input, and deletion cascades.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { Logs } from "../src/gen/api_pb.ts";
import { Logs as LogsV1alpha3 } from "../src/gen/log_pb.ts";
import { Code, grpcError, makeClient, type Client } from "./support/grpc-client.ts";
import { getLog, updateLog } from "./support/log-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { json, parse, uniqueParent } from "./support/wire.ts";

let s: TestServer;
let logs: Client<typeof Logs>;
let v3: Client<typeof LogsV1alpha3>;
beforeAll(async () => {
  s = await startTestServer();
  logs = makeClient(Logs, s.address);
  v3 = makeClient(LogsV1alpha3, s.address);
});
afterAll(async () => {
  logs.close();
  v3.close();
  await s.close();
});

const LOG_V3 = "results.tekton.dev/v1alpha3.Log";
const LOG_V2 = "results.tekton.dev/v1alpha2.Log";
const enc = (t: string) => new TextEncoder().encode(t);

function logDoc(name: string, runUid: string, extra: Record<string, unknown> = {}) {
  return {
    kind: "Log",
    apiVersion: "results.tekton.dev/v1alpha3",
    metadata: { name: `${name}-log`, namespace: "foo", uid: name },
    spec: { resource: { kind: "TaskRun", namespace: "foo", name, uid: runUid }, type: "File" },
    ...extra,
  };
}

/** A Result with one Log record (not stored yet); returns names. */
async function setupLog(opts: { type?: string; parent?: string; result?: string; id?: string } = {}) {
  const parent = opts.parent ?? uniqueParent();
  const result = `${parent}/results/${opts.result ?? "bar"}`;
  await s.client.createResult({ parent, result: { name: result } }).catch(() => undefined);
  const id = opts.id ?? "baz-log";
  const runUid = crypto.randomUUID();
  const rec = await s.client.createRecord({ parent: result, record: { name: `${result}/records/${id}`, data: { type: opts.type ?? LOG_V3, value: json(logDoc(id, runUid)) } } });
  return { parent, result, record: rec.name, log: `${result}/logs/${id}`, runUid, uid: rec.uid };
}

const chunksOf = (dbPath: string): number => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.query<{ n: number }, []>("SELECT count(*) AS n FROM log_chunks").get()!.n;
  } finally {
    db.close();
  }
};

describe("spec §13.4", () => {
  test("62: UpdateLog stores the concatenation; LogSummary.bytesReceived 36; record size 36, isStored", async () => {
    const l = await setupLog();
    const sum = await updateLog(logs.raw, [
      { name: l.log, data: enc("Hello world! ") },
      { name: l.log, data: enc("This is Tekton Results.") },
    ]);
    expect(sum.bytesReceived).toBe(36n);
    expect(sum.record).toBe(l.record);
    const rec = await s.client.getRecord({ name: l.record });
    const status = (parse(rec.data?.value) as { status: Record<string, unknown> }).status;
    expect(status.size).toBe(36);
    expect(status.isStored).toBe(true);
    const got = await getLog(logs.raw, l.log);
    expect(got.bytes.toString()).toBe("Hello world! This is Tekton Results.");
    expect([...got.contentTypes]).toEqual(["text/plain"]);
  });

  test("60, 61: GetLog of a v1alpha2- and a v1alpha3-typed Log record streams the stored content", async () => {
    for (const type of [LOG_V2, LOG_V3]) {
      const l = await setupLog({ type });
      await updateLog(logs.raw, [{ name: l.log, data: enc("Hello World!") }]);
      expect((await getLog(logs.raw, l.log)).bytes.toString()).toBe("Hello World!");
    }
  });

  test("63: GetLog before any upload is NOT_FOUND \"Log doesn't exist\"", async () => {
    const l = await setupLog();
    const e = await grpcError(getLog(logs.raw, l.log));
    expect(e.code).toBe(Code.NOT_FOUND);
    expect(e.details).toBe("Log doesn't exist");
  });

  test("64: GetLog with a malformed name is INVALID_ARGUMENT", async () => {
    for (const name of ["foo", "foo/results/bar/records/baz", "foo/results/bar/logs/", "foo/results/bar/logs/UPPER"]) {
      const e = await grpcError(getLog(logs.raw, name));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
    }
  });

  test("65: GetLog by run uid resolves the Log record through spec.resource.uid (v1alpha2 and v1alpha3)", async () => {
    const l = await setupLog();
    await updateLog(logs.raw, [{ name: l.log, data: enc("by uid\n") }]);
    // The run's own record, named by its uid, as the watcher stores it.
    await s.client.createRecord({ parent: l.result, record: { name: `${l.result}/records/${l.runUid}`, data: { type: "tekton.dev/v1.TaskRun", value: json({ kind: "TaskRun" }) } } });
    expect((await getLog(logs.raw, `${l.result}/logs/${l.runUid}`)).bytes.toString()).toBe("by uid\n");
    expect((await getLog(v3.raw, `${l.result}/records/${l.runUid}`)).bytes.toString()).toBe("by uid\n");
    expect((await getLog(v3.raw, `${l.result}/logs/${l.runUid}`)).bytes.toString()).toBe("by uid\n");
    const [p, , r] = l.result.split("/");
    const resp = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha3/parents/${p}/results/${r}/logs/${l.runUid}`);
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("by uid\n");
    const e = await grpcError(getLog(logs.raw, `${l.result}/logs/${crypto.randomUUID()}`));
    expect(e.code).toBe(Code.NOT_FOUND);
  });

  test("66, 67: ListLogs returns Log records only, named …/logs/<id>, with - wildcards; a missing result lists nothing", async () => {
    const parent = uniqueParent();
    for (const id of ["0", "1", "2"]) await setupLog({ parent, id });
    await s.client.createRecord({ parent: `${parent}/results/bar`, record: { name: `${parent}/results/bar/records/run`, data: { type: "tekton.dev/v1.TaskRun", value: json({}) } } });
    const other = uniqueParent();
    await setupLog({ parent: other, id: "9" });
    const names = async (p: string) => (await logs.listLogs({ parent: p })).records.map((r) => r.name).sort();
    const want = ["0", "1", "2"].map((i) => `${parent}/results/bar/logs/${i}`);
    expect(await names(`${parent}/results/bar`)).toEqual(want);
    expect(await names(`${parent}/results/-`)).toEqual(want);
    const all = await names("-/results/-");
    for (const n of [...want, `${other}/results/bar/logs/9`]) expect(all).toContain(n);
    expect(await names(`${other}/results/-`)).toEqual([`${other}/results/bar/logs/9`]);
    expect(await names(`${parent}/results/baz`)).toEqual([]);
  });

  test("68: ListLogs filters see the full record name, data_type and data", async () => {
    const parent = uniqueParent();
    for (const id of ["0", "1"]) await setupLog({ parent, id });
    const names = async (filter: string) => (await logs.listLogs({ parent: `${parent}/results/-`, filter })).records.map((r) => r.name).sort();
    expect(await names(`name == "${parent}/results/bar/records/0"`)).toEqual([`${parent}/results/bar/logs/0`]);
    expect(await names(`data.metadata.name == "1-log"`)).toEqual([`${parent}/results/bar/logs/1`]);
    expect(await names(`name.startsWith("${parent}/results/bar")`)).toHaveLength(2);
    expect(await names(`data_type == "${LOG_V3}"`)).toHaveLength(2);
    const e = await grpcError(logs.listLogs({ parent: `${parent}/results/-`, filter: "name ==" }));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
  });

  test("69: ListLogs page_size 1 pages through every log once; -1 and a bad parent are INVALID_ARGUMENT", async () => {
    const parent = uniqueParent();
    for (const id of ["0", "1", "2"]) await setupLog({ parent, id });
    const seen: string[] = [];
    let token = "";
    for (let i = 0; i < 5; i++) {
      const page = await logs.listLogs({ parent: `${parent}/results/bar`, pageSize: 1, pageToken: token });
      expect(page.records.length).toBeLessThanOrEqual(1);
      seen.push(...page.records.map((r) => r.name));
      token = page.nextPageToken;
      if (!token) break;
    }
    expect(seen.sort()).toEqual(["0", "1", "2"].map((i) => `${parent}/results/bar/logs/${i}`));
    expect((await grpcError(logs.listLogs({ parent: `${parent}/results/bar`, pageSize: -1 }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(logs.listLogs({ parent: "unknown" }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(logs.listLogs({ parent: "" }))).code).toBe(Code.INVALID_ARGUMENT);
  });

  test("70: ListLogs order_by created_time asc/desc; bad order_by is INVALID_ARGUMENT", async () => {
    const parent = uniqueParent();
    for (const id of ["a", "b", "c"]) await setupLog({ parent, id });
    const ids = async (orderBy: string) => (await logs.listLogs({ parent: `${parent}/results/bar`, orderBy })).records.map((r) => r.name.split("/").pop());
    expect(await ids("created_time asc")).toEqual(["a", "b", "c"]);
    expect(await ids("created_time")).toEqual(["a", "b", "c"]);
    expect(await ids("created_time desc")).toEqual(["c", "b", "a"]);
    expect(await ids("updated_time DESC")).toEqual(["c", "b", "a"]);
    for (const bad of ["created_time desc asc", "created_time foo", "name"]) {
      expect((await grpcError(logs.listLogs({ parent: `${parent}/results/bar`, orderBy: bad }))).code).toBe(Code.INVALID_ARGUMENT);
    }
  });

  test("71: DeleteLog removes the Log record and its bytes; a second DeleteLog is NOT_FOUND", async () => {
    const l = await setupLog();
    const before = chunksOf(s.dbPath);
    await updateLog(logs.raw, [{ name: l.log, data: enc("bytes to delete\n") }]);
    expect(chunksOf(s.dbPath)).toBe(before + 1);
    await logs.deleteLog({ name: l.log });
    expect((await grpcError(s.client.getRecord({ name: l.record }))).code).toBe(Code.NOT_FOUND);
    expect(chunksOf(s.dbPath)).toBe(before);
    expect((await grpcError(logs.deleteLog({ name: l.log }))).code).toBe(Code.NOT_FOUND);
  });
});

describe("UpdateLog bad input", () => {
  test("a stream that dies half-way leaves no bytes and no stored mark; the earlier log stays whole", async () => {
    const l = await setupLog();
    const big = Buffer.alloc(300 * 1024, "x");
    const before = chunksOf(s.dbPath);
    await expect(updateLog(logs.raw, [{ name: l.log, data: big }, { name: l.log, data: big }, { name: l.log, data: big }], { abortAfter: 2 })).rejects.toThrow();
    await Bun.sleep(200);
    expect(chunksOf(s.dbPath)).toBe(before);
    expect((await grpcError(getLog(logs.raw, l.log))).details).toBe("Log doesn't exist");
    // A complete upload, then a second one that dies: the first is still served.
    await updateLog(logs.raw, [{ name: l.log, data: enc("first upload\n") }]);
    await expect(updateLog(logs.raw, [{ name: l.log, data: big }, { name: l.log, data: big }], { abortAfter: 1 })).rejects.toThrow();
    await Bun.sleep(200);
    expect((await getLog(logs.raw, l.log)).bytes.toString()).toBe("first upload\n");
    expect(chunksOf(s.dbPath)).toBe(before + 1);
  });

  test("a second upload replaces the first (no append, unlike upstream's File backend)", async () => {
    const l = await setupLog();
    await updateLog(logs.raw, [{ name: l.log, data: enc("one\n") }]);
    await updateLog(logs.raw, [{ name: l.log, data: enc("two\n") }]);
    expect((await getLog(logs.raw, l.log)).bytes.toString()).toBe("two\n");
  });

  test("missing record NOT_FOUND; bad name, changing name INVALID_ARGUMENT; a non-Log record FAILED_PRECONDITION", async () => {
    const l = await setupLog();
    expect((await grpcError(updateLog(logs.raw, [{ name: `${l.result}/logs/nope`, data: enc("x") }]))).code).toBe(Code.NOT_FOUND);
    expect((await grpcError(updateLog(logs.raw, [{ name: l.record, data: enc("x") }]))).code).toBe(Code.INVALID_ARGUMENT);
    const e = await grpcError(updateLog(logs.raw, [{ name: l.log, data: enc("x") }, { name: `${l.result}/logs/other`, data: enc("y") }]));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect(e.details).toContain("multiple records");
    await s.client.createRecord({ parent: l.result, record: { name: `${l.result}/records/run`, data: { type: "tekton.dev/v1.TaskRun", value: json({}) } } });
    expect((await grpcError(updateLog(logs.raw, [{ name: `${l.result}/logs/run`, data: enc("x") }]))).code).toBe(Code.FAILED_PRECONDITION);
    expect((await grpcError(updateLog(logs.raw, []))).code).toBe(Code.INVALID_ARGUMENT);
  });
});

describe("bytes", () => {
  test("a multi-chunk log of realistic lines comes back byte-identical over gRPC (32 KiB messages) and REST (text/plain, no extra newlines)", async () => {
    const l = await setupLog();
    const lines: string[] = [];
    let length = 0;
    for (let i = 0; length < 3 * 1024 * 1024; i++) {
      const line = `2026-11-26T10:00:${String(i % 60).padStart(2, "0")}Z step ${i}: compiling module-${i % 97}.ts ✓ ${"#".repeat(i % 50)}\n`;
      lines.push(line);
      length += line.length;
    }
    const text = lines.join("");
    const data = Buffer.from(text);
    const msgs: Array<{ name: string; data: Uint8Array }> = [];
    for (let off = 0; off < data.length; off += 65536) msgs.push({ name: l.log, data: data.subarray(off, off + 65536) });
    const sum = await updateLog(logs.raw, msgs);
    expect(sum.bytesReceived).toBe(BigInt(data.length));
    const got = await getLog(logs.raw, l.log);
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.messages).toBe(Math.ceil(data.length / 32768));
    const [p, , r, , id] = l.log.split("/");
    const resp = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha2/parents/${p}/results/${r}/logs/${id}`);
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toStartWith("text/plain");
    expect(Buffer.from(await resp.arrayBuffer()).equals(data)).toBe(true);
  });

  test("REST: a missing log is a JSON 404; DELETE and ListLogs work; deleting the Result deletes the bytes", async () => {
    const l = await setupLog();
    const [p, , r, , id] = l.log.split("/");
    const base = `${s.http}/apis/results.tekton.dev/v1alpha2/parents/${p}/results/${r}`;
    let resp = await fetch(`${base}/logs/${id}`);
    expect(resp.status).toBe(404);
    expect(await resp.json()).toEqual({ code: 5, message: "Log doesn't exist" });
    await updateLog(logs.raw, [{ name: l.log, data: enc("rest\n") }]);
    resp = await fetch(`${base}/logs`);
    expect(((await resp.json()) as { records: Array<{ name: string }> }).records.map((x) => x.name)).toEqual([l.log]);
    const before = chunksOf(s.dbPath);
    await s.client.deleteResult({ name: l.result });
    expect(chunksOf(s.dbPath)).toBe(before - 1);
    resp = await fetch(`${base}/logs/${id}`, { method: "DELETE" });
    expect(resp.status).toBe(404);
  });
});

test("deleting a Result removes its log bytes: the database file is smaller after VACUUM", async () => {
  const own = await startTestServer();
  const ownLogs = makeClient(Logs, own.address);
  try {
    const parent = uniqueParent();
    const result = `${parent}/results/big`;
    await own.client.createResult({ parent, result: { name: result } });
    await own.client.createRecord({ parent: result, record: { name: `${result}/records/l`, data: { type: LOG_V3, value: json(logDoc("l", crypto.randomUUID())) } } });
    // Poorly compressible bytes, so the log is a clear part of the file.
    const msgs = Array.from({ length: 64 }, () => ({ name: `${result}/logs/l`, data: new TextEncoder().encode(crypto.getRandomValues(new Uint8Array(48 * 1024)).toBase64()) }));
    await updateLog(ownLogs.raw, msgs);
    const size = () => {
      const db = new Database(own.dbPath);
      try {
        db.run("PRAGMA wal_checkpoint(TRUNCATE)");
        db.run("VACUUM");
        db.run("PRAGMA wal_checkpoint(TRUNCATE)");
        return Bun.file(own.dbPath).size;
      } finally {
        db.close();
      }
    };
    const before = size();
    await own.client.deleteResult({ name: result });
    expect(chunksOf(own.dbPath)).toBe(0);
    const after = size();
    expect(before - after).toBeGreaterThan(2 * 1024 * 1024);
  } finally {
    ownLogs.close();
    await own.close();
  }
});
