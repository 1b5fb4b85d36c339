// Issue 8, auth mode kubernetes: an API server that cannot be asked makes
// calls UNAVAILABLE (audited; never an allow, never UNAUTHENTICATED) until it
// is back; impersonation (spec §6.4) allowed, refused and malformed, with
// every Impersonate-Extra key kept (upstream kept only the last).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Code, grpcError } from "./support/grpc-client.ts";
import { StderrCapture } from "./support/stderr.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";
import { NS_A, RESULTS_GROUP, startKubeAuthCluster, tokenOf, type KubeAuthCluster } from "./support/kube-auth.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";

const API = "/apis/results.tekton.dev/v1alpha2/";
let dir: string;
let cluster: KubeAuthCluster;
let s: TestServer;
const stderr = new StderrCapture();

beforeAll(async () => {
  dir = tempDir();
  cluster = await startKubeAuthCluster(dir);
  s = await startTestServer({ config: { authMode: "kubernetes", authKubeconfig: cluster.kubeconfig, authCacheTtlMs: 60_000, authImpersonation: true } });
  await s.client.createResult({ parent: NS_A, result: { name: `${NS_A}/results/r` } }, { metadata: md("admin") });
  stderr.start();
});
afterAll(async () => {
  stderr.stop();
  await s.close();
  await cluster.kube.stop();
});

function md(user: string, impersonate: Array<[string, string]> = []) {
  const m = new grpc.Metadata();
  m.set("authorization", `Bearer ${tokenOf(user)}`);
  for (const [k, v] of impersonate) m.add(k, v);
  return m;
}
const audits = () => stderr.logLines("audit");
/** Whether an audit line has every field of `want`. */
const audited = (want: Record<string, string>) => audits().some((a) => Object.entries(want).every(([k, v]) => a[k] === v));
const getResult = (m: grpc.Metadata) => s.client.getResult({ name: `${NS_A}/results/r` }, { metadata: m });

describe("the API server cannot be asked", () => {
  test("TokenReview answered 503: UNAVAILABLE on gRPC and REST, audited; the next call goes through", async () => {
    cluster.addUser("probe-outage-1");
    stderr.clear();
    cluster.kube.failNext(1, 503, /tokenreviews/);
    const e = await grpcError(getResult(md("probe-outage-1")));
    expect(e.code).toBe(Code.UNAVAILABLE);
    expect(e.details).not.toContain(tokenOf("probe-outage-1"));
    expect(audited({ identity: "-", method: "GetResult", outcome: "denied", code: "unavailable" })).toBe(true);
    // Nothing of the failure was kept: the same token works at once.
    await getResult(md("probe-outage-1"));

    cluster.addUser("probe-outage-2");
    cluster.kube.failNext(1, 500, /tokenreviews/);
    const r = await fetch(`${s.http}${API}parents/${NS_A}/results/r`, { headers: { authorization: `Bearer ${tokenOf("probe-outage-2")}` } });
    expect(r.status).toBe(503);
    expect(((await r.json()) as { code: number }).code).toBe(Code.UNAVAILABLE);
    expect(stderr.text).not.toContain(tokenOf("probe-outage-2"));
  });

  test("SubjectAccessReview failing: UNAVAILABLE, audited under the authenticated user", async () => {
    cluster.addUser("probe-outage-3");
    stderr.clear();
    cluster.kube.failNext(1, 502, /subjectaccessreviews/);
    expect((await grpcError(getResult(md("probe-outage-3")))).code).toBe(Code.UNAVAILABLE);
    expect(audited({ identity: "probe-outage-3", outcome: "denied", code: "unavailable" })).toBe(true);
    await getResult(md("probe-outage-3"));
  });

  test("the API server down (connection refused): UNAVAILABLE; back on the same address, calls succeed", async () => {
    const port = cluster.kube.port;
    await cluster.kube.stop();
    cluster.addUser("probe-down");
    expect((await grpcError(getResult(md("probe-down")))).code).toBe(Code.UNAVAILABLE);
    const r = await fetch(`${s.http}${API}parents/${NS_A}/results/r`, { headers: { authorization: `Bearer ${tokenOf("probe-down")}` } });
    expect(r.status).toBe(503);
    await r.text();
    cluster = await startKubeAuthCluster(dir, { port, pki: cluster.pki });
    cluster.addUser("probe-down");
    const back = await getResult(md("probe-down"));
    expect(back.name).toBe(`${NS_A}/results/r`);
  });

  test("TLS: a kubeconfig that does not trust the API server's certificate makes calls UNAVAILABLE", async () => {
    const bad = writeKubeconfig(dir, "bad-ca.kubeconfig", [{ name: "auth", server: cluster.kube.url, ca: cluster.pki.otherCa.cert, user: { token: "x" } }]);
    const other = await startTestServer({ config: { authMode: "kubernetes", authKubeconfig: bad } });
    try {
      const e = await grpcError(other.client.listResults({ parent: NS_A }, { metadata: md("admin") }));
      expect(e.code).toBe(Code.UNAVAILABLE);
    } finally {
      await other.close();
    }
  });

  test("a context the kubeconfig does not have stops the start, naming it", async () => {
    await expect(startTestServer({ config: { authMode: "kubernetes", authKubeconfig: cluster.kubeconfig, authContext: "nope" } })).rejects.toThrow(/context "nope"/);
  });
});

describe("impersonation", () => {
  test("allowed: the impersonated user's permissions apply, after a review of the impersonation for the real user", async () => {
    cluster.kube.accessReviews.length = 0;
    stderr.clear();
    const got = await getResult(md("boss", [["impersonate-user", "reader"]]));
    expect(got.name).toBe(`${NS_A}/results/r`);
    expect(cluster.kube.accessReviews).toEqual([
      { user: "boss", uid: "uid-boss", groups: ["system:authenticated"], resourceAttributes: { verb: "impersonate", resource: "users", name: "reader" } },
      { user: "reader", groups: ["system:authenticated"], resourceAttributes: { namespace: NS_A, verb: "get", group: RESULTS_GROUP, resource: "results" } },
    ]);
    // The reader may not delete, whoever impersonates it.
    const e = await grpcError(s.client.deleteResult({ name: `${NS_A}/results/r` }, { metadata: md("boss", [["impersonate-user", "reader"]]) }));
    expect(e.code).toBe(Code.PERMISSION_DENIED);
    expect(audited({ identity: "boss as reader", method: "DeleteResult", code: "permission_denied" })).toBe(true);
  });

  test("refused: impersonating someone the user may not is PERMISSION_DENIED, and no resource is reviewed", async () => {
    cluster.kube.accessReviews.length = 0;
    const e = await grpcError(getResult(md("boss", [["impersonate-user", "admin"]])));
    expect(e.code).toBe(Code.PERMISSION_DENIED);
    expect(e.details).toContain("impersonate");
    expect(cluster.kube.accessReviews.map((r) => r.resourceAttributes.verb)).toEqual(["impersonate"]);
    // Without impersonation the boss may see nothing.
    expect((await grpcError(getResult(md("boss")))).code).toBe(Code.PERMISSION_DENIED);
    const r = await fetch(`${s.http}${API}parents/${NS_A}/results/r`, { headers: { authorization: `Bearer ${tokenOf("boss")}`, "impersonate-user": "reader", "impersonate-group": "admins" } });
    expect(r.status).toBe(403);
    await r.text();
  });

  test("malformed (a group, uid or extra without a user; two uids): UNAUTHENTICATED 'invalid impersonation data'", async () => {
    for (const bad of [[["impersonate-group", "devs"]], [["impersonate-uid", "u-1"]], [["impersonate-extra-scopes", "a"]], [["impersonate-user", "reader"], ["impersonate-uid", "a"], ["impersonate-uid", "b"]]] as Array<Array<[string, string]>>) {
      const e = await grpcError(getResult(md("boss", bad)));
      expect({ bad, code: e.code }).toEqual({ bad, code: Code.UNAUTHENTICATED });
      expect(e.details).toContain("invalid impersonation data");
    }
    const r = await fetch(`${s.http}${API}parents/${NS_A}/results/r`, { headers: { authorization: `Bearer ${tokenOf("boss")}`, "Impersonate-Group": "devs" } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { message: string }).message).toContain("invalid impersonation data");
  });

  test("groups, uid and several extra keys (REST headers): each reviewed, and every extra key reaches the resource review", async () => {
    cluster.kube.accessReviews.length = 0;
    const r = await fetch(`${s.http}${API}parents/${NS_A}/results/r`, {
      headers: {
        authorization: `Bearer ${tokenOf("boss")}`,
        "Impersonate-User": "reader",
        "Impersonate-Group": "devs",
        "Impersonate-Uid": "u-1",
        "Impersonate-Extra-Scopes": "a, b",
        "Impersonate-Extra-Team": "x",
      },
    });
    expect(r.status).toBe(200);
    await r.text();
    const reviews = cluster.kube.accessReviews;
    const checks = reviews.filter((x) => x.user === "boss").map((x) => `${x.resourceAttributes.resource}/${x.resourceAttributes.subresource ?? ""}/${x.resourceAttributes.name}`);
    // users/reader may have been answered from the cache (an earlier test asked it).
    expect(checks.filter((c) => c !== "users//reader").sort()).toEqual(["groups//devs", "uids//u-1", "userextras/scopes/a", "userextras/scopes/b", "userextras/team/x"]);
    const acting = reviews.find((x) => x.user === "reader")!;
    expect(acting).toEqual({
      user: "reader",
      uid: "u-1",
      groups: ["devs", "system:authenticated"],
      extra: { scopes: ["a", "b"], team: ["x"] },
      resourceAttributes: { namespace: NS_A, verb: "get", group: RESULTS_GROUP, resource: "results" },
    });
    // An extra key the boss may not impersonate is refused.
    const e = await grpcError(getResult(md("boss", [["impersonate-user", "reader"], ["impersonate-extra-other", "y"]])));
    expect(e.code).toBe(Code.PERMISSION_DENIED);
  });
});
