// Issue 8 with issue 6: the Logs services (gRPC v1alpha2 and v1alpha3, the REST
// log routes and the Dashboard's route) sit behind the same authorizer as the
// Results: a real server in auth mode `token`, a real SQLite file, each call
// under each kind of credential.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Logs } from "../src/gen/api_pb.ts";
import { Logs as LogsV1alpha3 } from "../src/gen/log_pb.ts";
import { Code, grpcError, makeClient, type Client } from "./support/grpc-client.ts";
import { getLog, updateLog } from "./support/log-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { authHeaders, authMetadata, makeLogFixture } from "./support/log-fixture.ts";

let s: TestServer;
let logs: Client<typeof Logs>;
let v3: Client<typeof LogsV1alpha3>;
const secret: Record<string, string> = {};
type Cred = "none" | "wrong" | "viewer" | "writer" | "admin" | "scoped";
const NS = "team-a";

beforeAll(async () => {
  s = await startTestServer({ config: { authMode: "token" } });
  logs = makeClient(Logs, s.address);
  v3 = makeClient(LogsV1alpha3, s.address);
  const t = s.app.tokens!;
  secret.admin = t.create("admin", "admin", null);
  secret.writer = t.create("writer", "writer", null);
  secret.viewer = t.create("viewer", "viewer", null);
  // An admin of other parents only.
  secret.scoped = t.create("scoped", "admin", ["team-b"]);
});
afterAll(async () => {
  logs.close();
  v3.close();
  await s.close();
});

const auth = (c: Cred): string | null => (c === "none" ? null : c === "wrong" ? "Bearer hst_0000000000000000000000000000000000000000000" : `Bearer ${secret[c]}`);
const md = (c: Cred) => authMetadata(auth(c));
const headers = (c: Cred) => authHeaders(auth(c));
/** A Result with an uploaded log and a captured container, made by the admin. */
const fixture = (parent = NS) => makeLogFixture(s, logs.raw, parent, md("admin"));


const refusal = (c: Cred, action: "read" | "write" | "delete"): number | null => {
  if (c === "none" || c === "wrong") return Code.UNAUTHENTICATED;
  if (c === "scoped") return Code.PERMISSION_DENIED;
  if (c === "viewer" && action !== "read") return Code.PERMISSION_DENIED;
  if (c === "writer" && action === "delete") return Code.PERMISSION_DENIED;
  return null;
};
const HTTP: Record<number, number> = { [Code.UNAUTHENTICATED]: 401, [Code.PERMISSION_DENIED]: 403 };
const CREDS: Cred[] = ["none", "wrong", "viewer", "writer", "admin", "scoped"];

describe("gRPC", () => {
  for (const c of CREDS) {
    test(`${c}: GetLog (v1alpha2, v1alpha3), ListLogs, UpdateLog, DeleteLog`, async () => {
      const f = await fixture();
      const want = refusal(c, "read");
      for (const client of [logs.raw, v3.raw]) {
        const p = getLog(client, f.log, md(c));
        if (want === null) expect((await p).bytes.toString()).toBe("hello\n");
        else expect((await grpcError(p)).code).toBe(want);
      }
      const list = logs.listLogs({ parent: f.result }, { metadata: md(c) });
      if (want === null) expect((await list).records.map((r) => r.name).sort()).toEqual([f.capture, f.log]);
      else expect((await grpcError(list)).code).toBe(want);

      const wantWrite = refusal(c, "write");
      const up = updateLog(logs.raw, [{ name: f.log, data: new TextEncoder().encode("replaced\n") }], { metadata: md(c) });
      if (wantWrite === null) expect((await up).bytesReceived).toBe(9n);
      else expect((await grpcError(up)).code).toBe(wantWrite);
      // A refused upload changed nothing.
      expect((await getLog(logs.raw, f.log, md("admin"))).bytes.toString()).toBe(wantWrite === null ? "replaced\n" : "hello\n");

      const wantDelete = refusal(c, "delete");
      const del = logs.deleteLog({ name: f.log }, { metadata: md(c) });
      if (wantDelete === null) await del;
      else expect((await grpcError(del)).code).toBe(wantDelete);
      const after = logs.listLogs({ parent: f.result }, { metadata: md("admin") });
      expect((await after).records.map((r) => r.name).includes(f.log)).toBe(wantDelete !== null);
    });
  }

  test("an upload whose later message names a log of a parent the caller may not write is refused, and stores nothing", async () => {
    const mine = await fixture("team-b");
    const theirs = await fixture(NS);
    const e = await grpcError(
      updateLog(logs.raw, [
        { name: mine.log, data: new TextEncoder().encode("a") },
        { name: theirs.log, data: new TextEncoder().encode("b") },
      ], { metadata: md("scoped") }),
    );
    expect(e.code).toBe(Code.PERMISSION_DENIED);
    expect((await getLog(logs.raw, theirs.log, md("admin"))).bytes.toString()).toBe("hello\n");
    expect((await getLog(logs.raw, mine.log, md("admin"))).bytes.toString()).toBe("hello\n");
  });

  test("ListLogs of '-' answers only the parents a scoped token may see", async () => {
    const a = await fixture(NS);
    const b = await fixture("team-b");
    const names = (await logs.listLogs({ parent: "-/results/-", pageSize: 1000 }, { metadata: md("scoped") })).records.map((r) => r.name);
    expect(names).toContain(b.log);
    expect(names).not.toContain(a.log);
    expect(names.every((n) => n.startsWith("team-b/"))).toBe(true);
  });
});

describe("REST", () => {
  for (const c of CREDS) {
    test(`${c}: GET log (v1alpha2, v1alpha3 routes), ListLogs, DELETE log, Dashboard route`, async () => {
      const f = await fixture();
      const [parent, , result] = f.result.split("/");
      const want = refusal(c, "read");
      for (const path of [
        `/apis/results.tekton.dev/v1alpha2/parents/${parent}/results/${result}/logs/${f.id}`,
        `/apis/results.tekton.dev/v1alpha3/parents/${parent}/results/${result}/logs/${f.id}`,
        `/apis/results.tekton.dev/v1alpha2/parents/${parent}/results/${result}/logs`,
      ]) {
        const r = await fetch(`${s.http}${path}`, { headers: headers(c) });
        expect([path, r.status]).toEqual([path, want === null ? 200 : HTTP[want]!]);
        const body = await r.text();
        if (want === null && !path.endsWith("/logs")) expect(body).toBe("hello\n");
        if (want !== null) expect(JSON.parse(body).code).toBe(want);
      }
      // The Dashboard's route: the scoped token's answer is "not found", as for a pod never captured.
      const dash = await fetch(`${s.http}/logs/${parent}/${f.pod}/step-build`, { headers: headers(c) });
      const dashWant = c === "scoped" ? 404 : want === null ? 200 : HTTP[want]!;
      expect(dash.status).toBe(dashWant);
      if (dashWant === 200) expect(await dash.text()).toBe("captured\n");
      else await dash.text();

      const wantDelete = refusal(c, "delete");
      const del = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha2/parents/${parent}/results/${result}/logs/${f.id}`, { method: "DELETE", headers: headers(c) });
      expect(del.status).toBe(wantDelete === null ? 200 : HTTP[wantDelete]!);
      await del.text();
    });
  }

  test("the Dashboard route serves a scoped token the containers of its own parents", async () => {
    const f = await fixture("team-b");
    const r = await fetch(`${s.http}/logs/team-b/${f.pod}/step-build`, { headers: headers("scoped") });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("captured\n");
  });
});

test("every Logs method (v1alpha2 and v1alpha3) has an access rule", async () => {
  const { hasAccessRule } = await import("../src/api/access.ts");
  for (const m of [...Logs.methods, ...LogsV1alpha3.methods]) expect({ m: m.name, rule: hasAccessRule(m.localName) }).toEqual({ m: m.name, rule: true });
});
