// Issue 8: every Results RPC, over gRPC and every REST route, under every kind
// of credential, against a real server in auth mode `token` and a real SQLite
// file: each gets exactly its code, and a refused call changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Code } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { API_ROUTES } from "../src/api/rest/rest-app.ts";
import { Results } from "../src/gen/api_pb.ts";
import { callGrpc, grpcRequest as grpcRequestIn, makeFixture, RECORD_VALUE, RESULTS_ACTIONS, restRequest as restRequestIn, type Fixture } from "./support/auth-calls.ts";

const API = "/apis/results.tekton.dev/v1alpha2/";
const NS = "ns-a";
const grpcRequest = (method: string, f: Fixture) => grpcRequestIn(method, NS, f);
const restRequest = (method: string, f: Fixture) => restRequestIn(method, NS, f);

let s: TestServer;
const secret: Record<string, string> = {};

type Cred = "none" | "malformed" | "wrong" | "revoked" | "viewer" | "writer" | "admin" | "scoped";
const CREDS: Cred[] = ["none", "malformed", "wrong", "revoked", "viewer", "writer", "admin", "scoped"];

function header(c: Cred): string | null {
  switch (c) {
    case "none":
      return null;
    case "malformed":
      return `Basic ${secret.admin}`;
    case "wrong":
      return "Bearer hst_0000000000000000000000000000000000000000000";
    default:
      return `Bearer ${secret[c]}`;
  }
}

beforeAll(async () => {
  s = await startTestServer({ config: { authMode: "token" } });
  const t = s.app.tokens!;
  secret.admin = t.create("admin", "admin", null);
  secret.writer = t.create("writer", "writer", null);
  secret.viewer = t.create("viewer", "viewer", null);
  // Admin everywhere it may look, but NS is not among its parents.
  secret.scoped = t.create("scoped", "admin", ["other-*", "team-?"]);
  secret.revoked = t.create("revoked", "admin", null);
  t.revoke("revoked");
});
afterAll(() => s.close());

const md = (c: Cred) => {
  const m = new grpc.Metadata();
  const h = header(c);
  if (h !== null) m.set("authorization", h);
  return m;
};
const adminMd = () => md("admin");

/** Every stored row's uid and etag: equal before and after means nothing changed. */
const digest = () =>
  s.app.db
    .query<{ d: string | null }, []>("SELECT group_concat(k, ',') AS d FROM (SELECT uid || etag AS k FROM results UNION ALL SELECT uid || etag FROM records ORDER BY 1)")
    .get()!.d;

/** A fresh result with one record, made by the admin, for one case. */
const fixture = () => makeFixture(s.client, NS, adminMd());
const ACTION = RESULTS_ACTIONS;
const value = RECORD_VALUE;

/** Expected: "ok", or the refusal as [gRPC code, HTTP status]. */
function expected(method: string, c: Cred): "ok" | [number, number] {
  if (["none", "malformed", "wrong", "revoked"].includes(c)) return [Code.UNAUTHENTICATED, 401];
  if (c === "scoped") return [Code.PERMISSION_DENIED, 403];
  const a = ACTION[method]!;
  if (c === "viewer" && a !== "read") return [Code.PERMISSION_DENIED, 403];
  if (c === "writer" && a === "delete") return [Code.PERMISSION_DENIED, 403];
  return "ok";
}

test("the matrix covers every Results method and every REST route", () => {
  expect(Object.keys(ACTION).sort()).toEqual(Results.methods.map((m) => m.localName).sort());
  // The Logs routes have their own matrix (test/auth-logs.test.ts).
  expect(API_ROUTES.filter((r) => r.method.parent.typeName === Results.typeName).map((r) => r.method.localName).sort()).toEqual(Object.keys(ACTION).sort());
});

describe("gRPC", () => {
  for (const method of Object.keys(ACTION)) {
    test(`${method} under every credential`, async () => {
      for (const c of CREDS) {
        const f = await fixture();
        const before = digest();
        const got = await callGrpc(s.client, method, grpcRequest(method, f), md(c));
        const want = expected(method, c);
        expect({ method, c, got }).toEqual({ method, c, got: want === "ok" ? "ok" : want[0] });
        if (want !== "ok") expect(digest()).toBe(before);
      }
    });
  }
});

describe("REST", () => {
  for (const method of Object.keys(ACTION)) {
    test(`${method} under every credential`, async () => {
      for (const c of CREDS) {
        const f = await fixture();
        const before = digest();
        const r = restRequest(method, f);
        const headers: Record<string, string> = { "content-type": "application/json" };
        const h = header(c);
        if (h !== null) headers.authorization = h;
        const res = await fetch(s.http + API + r.path, { method: r.verb, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body) });
        const text = await res.text();
        const want = expected(method, c);
        expect({ method, c, status: res.status }).toEqual({ method, c, status: want === "ok" ? 200 : want[1] });
        if (want !== "ok") {
          expect(JSON.parse(text).code).toBe(want[0]);
          expect(digest()).toBe(before);
          // The credential never comes back in an answer.
          if (h) expect(text).not.toContain(h.slice(7, 30));
        }
      }
    });
  }
});

describe("'-' listing with a scoped token", () => {
  test("returns only its parents, page by page, on both transports; summaries count only them", async () => {
    const admin = adminMd();
    for (const p of ["other-1", "other-2", "team-x", "team-xy", "secret"]) {
      for (let i = 0; i < 3; i++) {
        const name = `${p}/results/s${i}`;
        await s.client.createResult({ parent: p, result: { name } }, { metadata: admin });
        await s.client.createRecord({ parent: name, record: { name: `${name}/records/x`, data: { type: "tekton.dev/v1.TaskRun", value } } }, { metadata: admin });
      }
    }
    const scoped = md("scoped");
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await s.client.listResults({ parent: "-", pageSize: 5, pageToken }, { metadata: scoped });
      // Pages are full: the scope is in the query, not filtered afterwards.
      if (page.nextPageToken) expect(page.results.length).toBe(5);
      seen.push(...page.results.map((r) => r.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    const parents = new Set(seen.map((n) => n.split("/")[0]));
    expect([...parents].sort()).toEqual(["other-1", "other-2", "team-x"]);
    expect(seen.length).toBe(9);

    const recs = await s.client.listRecords({ parent: "-/results/-", pageSize: 100 }, { metadata: scoped });
    expect(new Set(recs.records.map((r) => r.name.split("/")[0]))).toEqual(new Set(["other-1", "other-2", "team-x"]));
    const sum = await s.client.getRecordListSummary({ parent: "-/results/-", summary: "total" }, { metadata: scoped });
    expect(sum.summary[0]).toEqual({ total: 9 });

    const res = await fetch(`${s.http}${API}parents/-/results/-/records?page_size=100`, { headers: { authorization: header("scoped")! } });
    const body = (await res.json()) as { records: Array<{ name: string }> };
    expect(new Set(body.records.map((r) => r.name.split("/")[0]))).toEqual(new Set(["other-1", "other-2", "team-x"]));

    // The admin sees them all, including the fixtures of the matrix.
    const all = await s.client.listResults({ parent: "-", pageSize: 1000 }, { metadata: admin });
    expect(new Set(all.results.map((r) => r.name.split("/")[0]))).toContain("secret");
  });
});

test("a scoped token works inside its parents (REST update without ?name= included)", async () => {
  const h = { authorization: header("scoped")!, "content-type": "application/json" };
  const post = await fetch(`${s.http}${API}parents/team-q/results`, { method: "POST", headers: h, body: JSON.stringify({ name: "team-q/results/mine" }) });
  expect(post.status).toBe(200);
  const patch = await fetch(`${s.http}${API}parents/team-q/results/mine`, { method: "PATCH", headers: h, body: JSON.stringify({ annotations: { k: "v" } }) });
  expect(patch.status).toBe(200);
  const del = await s.client.deleteResult({ name: "team-q/results/mine" }, { metadata: md("scoped") }).then(() => "ok");
  expect(del).toBe("ok");
});
