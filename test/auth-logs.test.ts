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
import { authHeaders, authMetadata, checkLogCallsGrpc, checkLogCallsRest, dashboardStatus, makeLogFixture, type LogAccess } from "./support/log-fixture.ts";

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
/** What `c` may do in NS. The Dashboard's route answers the scoped token "not found", as for a pod never captured. */
const access = (c: Cred): LogAccess => ({
  get: refusal(c, "read"),
  list: refusal(c, "read"),
  update: refusal(c, "write"),
  delete: refusal(c, "delete"),
  dashboard: c === "scoped" ? 404 : dashboardStatus(refusal(c, "read")),
});
const CREDS: Cred[] = ["none", "wrong", "viewer", "writer", "admin", "scoped"];

describe("gRPC", () => {
  for (const c of CREDS) {
    test(`${c}: GetLog (v1alpha2, v1alpha3), ListLogs, UpdateLog, DeleteLog`, async () => {
      await checkLogCallsGrpc({ logs, v3 }, await fixture(), md(c), md("admin"), access(c));
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
      await checkLogCallsRest(s, await fixture(), headers(c), access(c));
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
