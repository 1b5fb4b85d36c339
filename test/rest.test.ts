// REST over a real server: golden JSON shapes (spec §2.3, §2.4), real
// fixtures as record data, and the exact requests the tkn-results CLI sends
// (spec §12.1).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import { ListRecordsResponseSchema } from "../src/gen/api_pb.ts";
import { RecordSchema, ResultSchema } from "../src/gen/resources_pb.ts";
import { generateRunGroup, makeRng, type Obj } from "./support/data.ts";
import { rawRequest } from "./support/raw-http.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const API = "/apis/results.tekton.dev/v1alpha2/";

let s: TestServer;
beforeAll(async () => {
  let t = 1_677_742_008_972_907;
  let n = 0;
  s = await startTestServer({
    deps: { clock: { nowMicros: () => (t += 1_000_000) }, ids: { newId: () => `3384c5e4-0000-7000-8000-${String(++n).padStart(12, "0")}` } },
  });
});
afterAll(() => s?.close());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(s.http + API + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

describe("golden shapes", () => {
  test("Result, Record, list, empty list, summary, delete and error bodies, byte for byte", async () => {
    const res = await call("POST", "parents/golden/results", {
      name: "golden/results/r1",
      annotations: { repo: "tektoncd/results", a: "1" },
      summary: { record: "golden/results/r1/records/x", type: "tekton.dev/v1.TaskRun", end_time: "2023-03-02T07:26:54Z", status: "SUCCESS" },
    });
    expect(res.status).toBe(200);
    expect(res.type).toBe("application/json");
    expect(res.text).toBe(
      '{"name":"golden/results/r1","id":"3384c5e4-0000-7000-8000-000000000001","uid":"3384c5e4-0000-7000-8000-000000000001",' +
        '"created_time":"2023-03-02T07:26:49.972907Z","create_time":"2023-03-02T07:26:49.972907Z",' +
        '"updated_time":"2023-03-02T07:26:49.972907Z","update_time":"2023-03-02T07:26:49.972907Z",' +
        '"annotations":{"a":"1","repo":"tektoncd/results"},"etag":"3384c5e4-0000-7000-8000-000000000001-1677742009972907000",' +
        '"summary":{"record":"golden/results/r1/records/x","type":"tekton.dev/v1.TaskRun","end_time":"2023-03-02T07:26:54Z","status":"SUCCESS"}}',
    );
    const rec = await call("POST", "parents/golden/results/r1/records", {
      name: "golden/results/r1/records/x",
      data: { type: "tekton.dev/v1.TaskRun", value: Buffer.from('{"kind":"TaskRun"}').toString("base64") },
    });
    const recordText =
      '{"name":"golden/results/r1/records/x","id":"3384c5e4-0000-7000-8000-000000000002","uid":"3384c5e4-0000-7000-8000-000000000002",' +
      '"data":{"type":"tekton.dev/v1.TaskRun","value":"eyJraW5kIjoiVGFza1J1biJ9"},"etag":"3384c5e4-0000-7000-8000-000000000002-1677742010972907000",' +
      '"created_time":"2023-03-02T07:26:50.972907Z","create_time":"2023-03-02T07:26:50.972907Z",' +
      '"updated_time":"2023-03-02T07:26:50.972907Z","update_time":"2023-03-02T07:26:50.972907Z"}';
    expect(rec.text).toBe(recordText);
    expect((await call("GET", "parents/golden/results/r1/records/x")).text).toBe(recordText);
    expect((await call("GET", "parents/golden/results/r1/records")).text).toBe(`{"records":[${recordText}]}`);
    expect((await call("GET", "parents/nobody/results/-/records")).text).toBe("{}");
    expect((await call("GET", "parents/nobody/results")).text).toBe("{}");
    expect((await call("GET", "parents/golden/results/-/records/summary?summary=total,succeeded")).text).toBe('{"summary":[{"total":1,"succeeded":0}]}');
    expect(await call("GET", "parents/golden/results/r1/records/y")).toMatchObject({ status: 404, text: '{"code":5,"message":"record golden/results/r1/records/y not found"}' });
    expect(await call("POST", "parents/golden/results", { name: "golden/results/r1" })).toMatchObject({ status: 409, text: '{"code":6,"message":"result golden/results/r1 already exists"}' });
    expect(await call("DELETE", "parents/golden/results/r1/records/x")).toMatchObject({ status: 200, text: "{}" });
    // A list with more pages carries next_page_token last.
    for (const i of [1, 2, 3, 4, 5, 6]) await call("POST", "parents/golden/results", { name: `golden/results/p${i}` });
    const page = JSON.parse((await call("GET", "parents/golden/results?page_size=5")).text);
    expect(Object.keys(page)).toEqual(["results", "next_page_token"]);
    expect(page.next_page_token).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  test("input: lowerCamel and proto names, enum numbers, unknown fields, padded or unpadded and URL-safe base64", async () => {
    const r = await call("POST", "parents/golden/results", {
      name: "golden/results/camel",
      extra: { anything: [1, 2] },
      summary: { record: "golden/results/camel/records/x", type: "t", startTime: "2024-01-01T00:00:00Z", end_time: "2024-01-01T00:01:00.5Z", status: 2 },
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).summary).toEqual({ record: "golden/results/camel/records/x", type: "t", start_time: "2024-01-01T00:00:00Z", end_time: "2024-01-01T00:01:00.500Z", status: "FAILURE" });
    for (const [i, value] of ["eyJhIjoiPz8-In0=", "eyJhIjoiPz8-In0", "eyJhIjoiPz8+In0="].entries()) {
      const rec = await call("POST", "parents/golden/results/camel/records", { name: `golden/results/camel/records/v${i}`, data: { type: "t", value } });
      expect(rec.status).toBe(200);
      expect(JSON.parse(rec.text).data.value).toBe("eyJhIjoiPz8+In0=");
    }
  });
});

const fixtureDir = join(import.meta.dir, "../../shared/fixtures/real");
const fixtures = existsSync(fixtureDir) ? readdirSync(fixtureDir).filter((f) => f.endsWith(".json")).sort() : [];

test.skipIf(fixtures.length === 0)(`real fixtures as record data: base64 round trip and the CLI's partial list (${fixtures.length ? fixtures.length + " files" : "skipped: ../shared/fixtures/real is absent"})`, async () => {
  await call("POST", "parents/fixtures/results", { name: "fixtures/results/all" });
  const docs = new Map<string, Obj>();
  for (const [i, f] of fixtures.entries()) {
    const bytes = readFileSync(join(fixtureDir, f));
    const doc = JSON.parse(bytes.toString("utf8")) as Obj;
    const name = `fixtures/results/all/records/f${i}`;
    const type = `${(doc.apiVersion as string) ?? "tekton.dev/v1"}.${(doc.kind as string) ?? "Unknown"}`;
    const created = await call("POST", "parents/fixtures/results/all/records", { name, data: { type, value: bytes.toString("base64") } });
    expect(created.status).toBe(200);
    const body = JSON.parse(created.text);
    expect(Object.keys(body)).toEqual(["name", "id", "uid", "data", "etag", "created_time", "create_time", "updated_time", "update_time"]);
    // The create answer echoes the bytes; a read gives JSON that parses to the same document.
    expect(body.data.value).toBe(bytes.toString("base64"));
    const got = JSON.parse((await call("GET", `parents/${name}`)).text);
    expect(JSON.parse(Buffer.from(got.data.value, "base64").toString("utf8"))).toEqual(doc);
    docs.set(name, doc);
  }
  const fields = "records.name,records.uid,records.create_time,records.update_time,records.data.value.metadata,records.data.value.status,next_page_token";
  const list = JSON.parse((await call("GET", `parents/fixtures/results/-/records?page_size=1000&fields=${fields}`)).text);
  expect(list.records).toHaveLength(fixtures.length);
  for (const r of list.records) {
    expect(Object.keys(r)).toEqual(["name", "uid", "data", "create_time", "update_time"]);
    const doc = docs.get(r.name)!;
    expect(JSON.parse(Buffer.from(r.data.value, "base64").toString("utf8"))).toEqual({ metadata: doc.metadata ?? null, status: doc.status ?? null });
  }
});

describe("the tkn-results CLI's requests (spec §12.1)", () => {
  const ns = "cli-ns";
  const headers = { authorization: "Bearer some-token", accept: "application/json" };
  const listFields = "records.name,records.uid,records.create_time,records.update_time,records.data.value.metadata,records.data.value.status,next_page_token";
  let prUid = "";
  let prName = "";
  let trUid = "";

  beforeAll(async () => {
    const g = generateRunGroup(makeRng(3), { namespace: ns, taskRuns: 6 });
    const pr = g.pipelineRun;
    prUid = (pr.metadata as Obj).uid as string;
    prName = (pr.metadata as Obj).name as string;
    trUid = (g.taskRuns[0]!.metadata as Obj).uid as string;
    const result = `${ns}/results/${prUid}`;
    await call("POST", `parents/${ns}/results`, { name: result });
    for (const run of [pr, ...g.taskRuns]) {
      const uid = (run.metadata as Obj).uid as string;
      const r = await call("POST", `parents/${result}/records`, {
        name: `${result}/records/${uid}`,
        data: { type: `${run.apiVersion as string}.${run.kind as string}`, value: Buffer.from(JSON.stringify(run)).toString("base64") },
      });
      expect(r.status).toBe(200);
    }
  });

  /** A GET as the CLI sends it: Authorization, JSON content type and a JSON body. */
  async function cliGet(path: string) {
    const res = await rawRequest(s.http, "GET", `${API}${path}`, {
      headers: { ...headers, "content-type": "application/json" },
      body: '{"parent":"ignored","page_size":-1}',
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  test("pipelinerun list: filter, order_by=create_time desc, page_size, fields, and a JSON body with the GET", async () => {
    const filter = '(data_type=="tekton.dev/v1.PipelineRun" || data_type=="tekton.dev/v1beta1.PipelineRun")';
    const text = await cliGet(`parents/${ns}/results/-/records?filter=${encodeURIComponent(filter)}&order_by=${encodeURIComponent("create_time desc")}&page_size=50&fields=${listFields}`);
    // Parsed strictly, as the CLI does (protojson without DiscardUnknown): no field outside the proto.
    const page = fromJson(ListRecordsResponseSchema, JSON.parse(text));
    expect(page.records).toHaveLength(1);
    expect(page.records[0]!.uid).not.toBe("");
    const v = JSON.parse(new TextDecoder().decode(page.records[0]!.data!.value));
    expect(Object.keys(v)).toEqual(["metadata", "status"]);
    expect(v.metadata.uid).toBe(prUid);
  });

  test("taskrun list -A --pipelinerun, newest first, paged with --limit 5", async () => {
    const filter = `(data_type=="tekton.dev/v1.TaskRun" || data_type=="tekton.dev/v1beta1.TaskRun") && data.metadata.labels['tekton.dev/pipelineRun'] == '${prName}'`;
    let token = "";
    const seen: string[] = [];
    const created: string[] = [];
    do {
      const text = await cliGet(`parents/-/results/-/records?filter=${encodeURIComponent(filter)}&order_by=${encodeURIComponent("create_time desc")}&page_size=5&fields=${listFields}${token ? `&page_token=${token}` : ""}`);
      const page = fromJson(ListRecordsResponseSchema, JSON.parse(text));
      for (const r of page.records) {
        seen.push(r.uid);
        created.push(`${r.createTime!.seconds}.${String(r.createTime!.nanos).padStart(9, "0")}`);
      }
      token = page.nextPageToken;
    } while (token);
    expect(seen.length).toBe(6);
    expect([...created].sort().reverse()).toEqual(created);
  });

  test("describe by uid: GET the record, and the fallback list by name; logs' fields", async () => {
    const rec = fromJson(RecordSchema, JSON.parse(await cliGet(`parents/${ns}/results/${prUid}/records/${prUid}`)));
    expect(rec.uid).not.toBe("");
    const fallback = fromJson(ListRecordsResponseSchema, JSON.parse(await cliGet(`parents/${ns}/results/-/records?filter=${encodeURIComponent(`name=="${trUid}"`)}&page_size=5&order_by=${encodeURIComponent("create_time desc")}`)));
    expect(fallback.records.map((r) => r.name)).toEqual([`${ns}/results/${prUid}/records/${trUid}`]);
    const logs = JSON.parse(await cliGet(`parents/${ns}/results/-/records?filter=${encodeURIComponent(`name=="${trUid}"`)}&page_size=5&order_by=${encodeURIComponent("create_time desc")}&fields=records.name,records.uid,records.data.value`));
    expect(Object.keys(logs.records[0])).toEqual(["name", "uid", "data"]);
    expect(JSON.parse(Buffer.from(logs.records[0].data.value, "base64").toString()).metadata.uid).toBe(trUid);
  });

  test("UpdateResult: upstream's ?name= works, and without it the name comes from the path", async () => {
    const name = `${ns}/results/${prUid}`;
    const a = await call("PATCH", `parents/${name}?name=${name}`, { annotations: { a: "1" } }, headers);
    expect(a.status).toBe(200);
    const b = await call("PATCH", `parents/${name}`, { annotations: { b: "2" } }, headers);
    expect(fromJson(ResultSchema, JSON.parse(b.text)).annotations).toEqual({ b: "2" });
  });
});
