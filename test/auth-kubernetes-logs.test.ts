// Issue 8, auth mode kubernetes, Logs: GetLog (v1alpha2, v1alpha3), ListLogs,
// UpdateLog and DeleteLog over gRPC, their REST routes and the Dashboard's
// route, each under each kind of caller, with upstream's review attributes
// (logs get/list/update/delete; UpdateLog also records/update, as upstream's
// internal UpdateRecord checks it).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Logs } from "../src/gen/api_pb.ts";
import { Logs as LogsV1alpha3 } from "../src/gen/log_pb.ts";
import { Code, grpcError, makeClient, type Client } from "./support/grpc-client.ts";
import { getLog, updateLog } from "./support/log-client.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";
import { NS_A, NS_B, RESULTS_GROUP, startKubeAuthCluster, tokenOf, type KubeAuthCluster } from "./support/kube-auth.ts";
import { authHeaders, authMetadata, checkLogCallsGrpc, checkLogCallsRest, dashboardStatus, makeLogFixture, type LogAccess } from "./support/log-fixture.ts";

let cluster: KubeAuthCluster;
let s: TestServer;
let logs: Client<typeof Logs>;
let v3: Client<typeof LogsV1alpha3>;

beforeAll(async () => {
  cluster = await startKubeAuthCluster(tempDir());
  s = await startTestServer({ config: { authMode: "kubernetes", authKubeconfig: cluster.kubeconfig, authCacheTtlMs: 60_000 } });
  logs = makeClient(Logs, s.address);
  v3 = makeClient(LogsV1alpha3, s.address);
});
afterAll(async () => {
  logs.close();
  v3.close();
  await s.close();
  await cluster.kube.stop();
});

type Caller = "none" | "unknown" | "reader" | "editor" | "admin";
const CALLERS: Caller[] = ["none", "unknown", "reader", "editor", "admin"];
const auth = (c: string): string | null => (c === "none" ? null : c === "unknown" ? "Bearer no-such-token" : `Bearer ${tokenOf(c)}`);
const md = (c: string) => authMetadata(auth(c));
const headers = (c: string) => authHeaders(auth(c));
/** A Result with an uploaded log and a captured container, made by the admin. */
const fixture = (parent = NS_A) => makeLogFixture(s, logs.raw, parent, md("admin"));


/** Expected refusal in ns-a (null: allowed). */
function refusal(c: Caller, verb: "get" | "list" | "update" | "delete"): number | null {
  if (c === "none" || c === "unknown") return Code.UNAUTHENTICATED;
  if (c === "reader" && (verb === "update" || verb === "delete")) return Code.PERMISSION_DENIED;
  return null;
}
const access = (c: Caller): LogAccess => ({
  get: refusal(c, "get"),
  list: refusal(c, "list"),
  update: refusal(c, "update"),
  delete: refusal(c, "delete"),
  dashboard: dashboardStatus(refusal(c, "get")),
});

describe("gRPC", () => {
  for (const c of CALLERS) {
    test(`${c}: GetLog (v1alpha2, v1alpha3), ListLogs, UpdateLog, DeleteLog`, async () => {
      await checkLogCallsGrpc({ logs, v3 }, await fixture(), md(c), md("admin"), access(c));
    });
  }

  test("in a namespace the user may not see, every Logs call is PERMISSION_DENIED", async () => {
    const f = await fixture(NS_B);
    expect((await grpcError(getLog(logs.raw, f.log, md("editor")))).code).toBe(Code.PERMISSION_DENIED);
    expect((await grpcError(logs.listLogs({ parent: f.result }, { metadata: md("editor") }))).code).toBe(Code.PERMISSION_DENIED);
    expect((await grpcError(updateLog(logs.raw, [{ name: f.log, data: new TextEncoder().encode("x") }], { metadata: md("editor") }))).code).toBe(Code.PERMISSION_DENIED);
    expect((await grpcError(logs.deleteLog({ name: f.log }, { metadata: md("editor") }))).code).toBe(Code.PERMISSION_DENIED);
  });

  test("review attributes: logs get, list, update (with records update), delete in the parent's namespace", async () => {
    const f = await fixture();
    const attrs = () => cluster.kube.accessReviews.map((r) => `${r.resourceAttributes.namespace ?? ""}:${r.resourceAttributes.group}:${r.resourceAttributes.resource}:${r.resourceAttributes.verb}`);
    const steps: Array<[string, () => Promise<unknown>, string[]]> = [
      ["GetLog", () => getLog(logs.raw, f.log, md("probe-get")), [`${NS_A}:${RESULTS_GROUP}:logs:get`]],
      ["ListLogs", () => logs.listLogs({ parent: f.result }, { metadata: md("probe-list") }), [`${NS_A}:${RESULTS_GROUP}:logs:list`]],
      [
        "UpdateLog",
        () => updateLog(logs.raw, [{ name: f.log, data: new TextEncoder().encode("x") }], { metadata: md("probe-update") }),
        [`${NS_A}:${RESULTS_GROUP}:logs:update`, `${NS_A}:${RESULTS_GROUP}:records:update`],
      ],
      ["DeleteLog", () => logs.deleteLog({ name: f.log }, { metadata: md("probe-delete") }), [`${NS_A}:${RESULTS_GROUP}:logs:delete`]],
    ];
    for (const [what, call, want] of steps) {
      cluster.addUser({ GetLog: "probe-get", ListLogs: "probe-list", UpdateLog: "probe-update", DeleteLog: "probe-delete" }[what]!);
      cluster.kube.accessReviews.length = 0;
      await call();
      expect({ what, asked: attrs() }).toEqual({ what, asked: want });
    }
  });

  test("ListLogs of '-' answers only the namespaces the user may list", async () => {
    const a = await fixture(NS_A);
    const b = await fixture(NS_B);
    const names = (await logs.listLogs({ parent: "-/results/-", pageSize: 1000 }, { metadata: md("reader") })).records.map((r) => r.name);
    expect(names).toContain(a.log);
    expect(names).not.toContain(b.log);
    expect(names.every((n) => n.startsWith(`${NS_A}/`))).toBe(true);
  });
});

describe("REST", () => {
  for (const c of CALLERS) {
    test(`${c}: GET log (v1alpha2, v1alpha3 routes), ListLogs, DELETE log, Dashboard route`, async () => {
      await checkLogCallsRest(s, await fixture(), headers(c), access(c));
    });
  }

  test("the Dashboard route: a container in a namespace the user may not read is not found, as one never captured", async () => {
    const b = await fixture(NS_B);
    const r = await fetch(`${s.http}/logs/${NS_B}/${b.pod}/step-build`, { headers: headers("reader") });
    expect(r.status).toBe(404);
    await r.text();
    const ok = await fetch(`${s.http}/logs/${NS_B}/${b.pod}/step-build`, { headers: headers("admin") });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("captured\n");
  });
});
