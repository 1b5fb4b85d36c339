// Issue 8, auth mode kubernetes: every Results RPC over gRPC and REST under
// each kind of caller, against a real server whose permissions come from a
// (fake, real-HTTPS) Kubernetes API server by TokenReview and
// SubjectAccessReview: exact codes, exactly upstream's review attributes
// (spec §6.3), "-" lists narrowed to the namespaces a user may see, and
// answers cached for --auth-cache-ttl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Code } from "./support/grpc-client.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";
import { callGrpc, grpcRequest, makeFixture, RESULTS_ACTIONS, restRequest, type Fixture } from "./support/auth-calls.ts";
import { NS_A, NS_B, RESULTS_GROUP, startKubeAuthCluster, tokenOf, type KubeAuthCluster } from "./support/kube-auth.ts";
import { Results } from "../src/gen/api_pb.ts";

const API = "/apis/results.tekton.dev/v1alpha2/";
let dir: string;
let cluster: KubeAuthCluster;
let s: TestServer;

beforeAll(async () => {
  dir = tempDir();
  cluster = await startKubeAuthCluster(dir);
  s = await startTestServer({ config: { authMode: "kubernetes", authKubeconfig: cluster.kubeconfig, authCacheTtlMs: 60_000 } });
});
afterAll(async () => {
  await s.close();
  await cluster.kube.stop();
});

type Caller = "none" | "malformed" | "unknown" | "reader" | "editor" | "admin" | "nobody";
const CALLERS: Caller[] = ["none", "malformed", "unknown", "reader", "editor", "admin", "nobody"];

function header(c: Caller): string | null {
  if (c === "none") return null;
  if (c === "malformed") return `Basic ${tokenOf("admin")}`;
  if (c === "unknown") return "Bearer not-a-token-the-cluster-knows";
  return `Bearer ${tokenOf(c)}`;
}
const md = (c: Caller | string) => {
  const m = new grpc.Metadata();
  const h = (CALLERS as string[]).includes(c) ? header(c as Caller) : `Bearer ${tokenOf(c)}`;
  if (h !== null) m.set("authorization", h);
  return m;
};

/** The upstream verb of each Results RPC (spec §6.3). */
const VERB: Record<string, [string, string]> = {
  createResult: ["results", "create"],
  getResult: ["results", "get"],
  updateResult: ["results", "update"],
  deleteResult: ["results", "delete"],
  listResults: ["results", "list"],
  createRecord: ["records", "create"],
  getRecord: ["records", "get"],
  updateRecord: ["records", "update"],
  deleteRecord: ["records", "delete"],
  listRecords: ["records", "list"],
  getRecordListSummary: ["records", "get"],
};

/** Expected in namespace `ns`: "ok", or [gRPC code, HTTP status]. */
function expected(method: string, c: Caller, ns: string): "ok" | [number, number] {
  if (c === "none" || c === "malformed" || c === "unknown") return [Code.UNAUTHENTICATED, 401];
  if (c === "admin") return "ok";
  if (c === "nobody" || ns !== NS_A) return [Code.PERMISSION_DENIED, 403];
  if (c === "reader" && !["get", "list"].includes(VERB[method]![1])) return [Code.PERMISSION_DENIED, 403];
  return "ok";
}

const fixture = (ns: string) => makeFixture(s.client, ns, md("admin"));
const digest = () =>
  s.app.db
    .query<{ d: string | null }, []>("SELECT group_concat(k, ',') AS d FROM (SELECT uid || etag AS k FROM results UNION ALL SELECT uid || etag FROM records ORDER BY 1)")
    .get()!.d;

test("the matrix covers every Results method", () => {
  expect(Object.keys(VERB).sort()).toEqual(Results.methods.map((m) => m.localName).sort());
  expect(Object.keys(RESULTS_ACTIONS).sort()).toEqual(Object.keys(VERB).sort());
});

for (const ns of [NS_A, NS_B]) {
  describe(`gRPC in ${ns}`, () => {
    for (const method of Object.keys(VERB)) {
      test(`${method} under every caller`, async () => {
        for (const c of CALLERS) {
          const f = await fixture(ns);
          const before = digest();
          const got = await callGrpc(s.client, method, grpcRequest(method, ns, f), md(c));
          const want = expected(method, c, ns);
          expect({ method, c, got }).toEqual({ method, c, got: want === "ok" ? "ok" : want[0] });
          if (want !== "ok") expect(digest()).toBe(before);
        }
      });
    }
  });

  describe(`REST in ${ns}`, () => {
    for (const method of Object.keys(VERB)) {
      test(`${method} under every caller`, async () => {
        for (const c of CALLERS) {
          const f = await fixture(ns);
          const before = digest();
          const r = restRequest(method, ns, f);
          const headers: Record<string, string> = { "content-type": "application/json" };
          const h = header(c);
          if (h !== null) headers.authorization = h;
          const res = await fetch(s.http + API + r.path, { method: r.verb, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body) });
          const text = await res.text();
          const want = expected(method, c, ns);
          expect({ method, c, status: res.status }).toEqual({ method, c, status: want === "ok" ? 200 : want[1] });
          if (want !== "ok") {
            expect(JSON.parse(text).code).toBe(want[0]);
            expect(digest()).toBe(before);
            if (h) expect(text).not.toContain(h.slice(7));
          }
        }
      });
    }
  });
}

test("each RPC sends exactly one SubjectAccessReview: the caller, and §6.3's resource and verb in the parent's namespace", async () => {
  for (const method of Object.keys(VERB)) {
    const user = `probe-${method.toLowerCase()}`;
    cluster.addUser(user, { groups: ["system:authenticated", "ci"] });
    const f: Fixture = await fixture(NS_A);
    cluster.kube.accessReviews.length = 0;
    expect({ method, got: await callGrpc(s.client, method, grpcRequest(method, NS_A, f), md(user)) }).toEqual({ method, got: "ok" });
    const [resource, verb] = VERB[method]!;
    expect({ method, reviews: cluster.kube.accessReviews }).toEqual({
      method,
      reviews: [{ user, uid: `uid-${user}`, groups: ["system:authenticated", "ci"], resourceAttributes: { namespace: NS_A, verb, group: RESULTS_GROUP, resource } }],
    });
  }
});

describe("'-' lists", () => {
  beforeAll(async () => {
    for (const ns of [NS_A, NS_B, "ns-c"]) for (let i = 0; i < 3; i++) await fixture(ns);
  });
  const parentsOf = (names: string[]) => [...new Set(names.map((n) => n.split("/")[0]))].sort();

  test("a user allowed in ns-a only lists ns-a's results and records, page by page, on both transports", async () => {
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await s.client.listResults({ parent: "-", pageSize: 5, pageToken }, { metadata: md("reader") });
      if (page.nextPageToken) expect(page.results.length).toBe(5);
      seen.push(...page.results.map((r) => r.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(parentsOf(seen)).toEqual([NS_A]);
    const all = await s.client.listResults({ parent: "-", pageSize: 10000 }, { metadata: md("admin") });
    expect(seen.length).toBe(all.results.filter((r) => r.name.startsWith(`${NS_A}/`)).length);
    expect(parentsOf(all.results.map((r) => r.name))).toEqual([NS_A, NS_B, "ns-c"]);

    const recs = await s.client.listRecords({ parent: "-/results/-", pageSize: 1000 }, { metadata: md("reader") });
    expect(parentsOf(recs.records.map((r) => r.name))).toEqual([NS_A]);
    const res = await fetch(`${s.http}${API}parents/-/results/-/records?page_size=1000`, { headers: { authorization: header("reader")! } });
    expect(parentsOf(((await res.json()) as { records: Array<{ name: string }> }).records.map((r) => r.name))).toEqual([NS_A]);
    const sum = await s.client.getRecordListSummary({ parent: "-/results/-", summary: "total" }, { metadata: md("reader") });
    expect(sum.summary[0]).toEqual({ total: recs.records.length });
  });

  test("cluster-wide permission is asked first (namespace omitted); refused, each stored parent is asked", async () => {
    const user = "probe-lister";
    cluster.addUser(user);
    cluster.kube.accessReviews.length = 0;
    await s.client.listResults({ parent: "-" }, { metadata: md(user) });
    const asked = cluster.kube.accessReviews.map((r) => r.resourceAttributes);
    expect(asked[0]).toEqual({ verb: "list", group: RESULTS_GROUP, resource: "results" });
    expect(asked.slice(1).map((a) => a.namespace).sort()).toEqual([NS_A, NS_B, "ns-c"]);
    cluster.kube.accessReviews.length = 0;
    await s.client.listResults({ parent: "-" }, { metadata: md("admin") });
    expect(cluster.kube.accessReviews.length).toBeLessThanOrEqual(1);
  });

  test("a user allowed nowhere gets an empty list, not a refusal", async () => {
    const page = await s.client.listResults({ parent: "-" }, { metadata: md("nobody") });
    expect(page.results).toEqual([]);
    const res = await fetch(`${s.http}${API}parents/-/results/-/records`, { headers: { authorization: header("nobody")! } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { records?: unknown[] }).records ?? []).toEqual([]);
  });
});

test("a second identical call within the TTL asks the API server nothing", async () => {
  const user = "probe-cached";
  cluster.addUser(user);
  const f = await fixture(NS_A);
  const reviews = cluster.kube.tokenReviews;
  const access = cluster.kube.accessReviews.length;
  await s.client.getResult({ name: f.result }, { metadata: md(user) });
  expect(cluster.kube.tokenReviews).toBe(reviews + 1);
  expect(cluster.kube.accessReviews.length).toBe(access + 1);
  await s.client.getResult({ name: f.result }, { metadata: md(user) });
  const rest = await fetch(`${s.http}${API}parents/${f.result}`, { headers: { authorization: `Bearer ${tokenOf(user)}` } });
  expect(rest.status).toBe(200);
  expect(cluster.kube.tokenReviews).toBe(reviews + 1);
  expect(cluster.kube.accessReviews.length).toBe(access + 1);
  // Another verb is another question.
  await s.client.listRecords({ parent: f.result }, { metadata: md(user) });
  expect(cluster.kube.tokenReviews).toBe(reviews + 1);
  expect(cluster.kube.accessReviews.length).toBe(access + 2);
});
