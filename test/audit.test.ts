// Issue 8: the audit trail of a real server in auth mode `token` — writes,
// deletes and refusals each leave one structured line; secrets never do.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { StderrCapture } from "./support/stderr.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
const stderr = new StderrCapture();

beforeAll(async () => {
  s = await startTestServer({ config: { authMode: "token" } });
  stderr.start();
});
afterAll(async () => {
  stderr.stop();
  await s.close();
});

const md = (secret: string | null) => {
  const m = new grpc.Metadata();
  if (secret !== null) m.set("authorization", `Bearer ${secret}`);
  return m;
};
const audits = () => stderr.logLines("audit");

test("writes, deletes and refusals are audited with identity, method, resource, outcome; reads and secrets are not", async () => {
  const writer = s.app.tokens!.create("uploader", "writer", null);
  const viewer = s.app.tokens!.create("reader", "viewer", null);
  stderr.clear();
  await s.client.createResult({ parent: "audit", result: { name: "audit/results/a" } }, { metadata: md(writer) });
  await s.client.getResult({ name: "audit/results/a" }, { metadata: md(viewer) });
  await s.client.deleteResult({ name: "audit/results/a" }, { metadata: md(viewer) }).catch(() => {});
  await s.client.getResult({ name: "audit/results/a" }, { metadata: md(null) }).catch(() => {});
  await s.client.createResult({ parent: "audit", result: { name: "audit/results/a" } }, { metadata: md(writer) }).catch(() => {});
  const got = audits().map(({ identity, method, resource, outcome, code }) => ({ identity, method, resource, outcome, code }));
  expect(got).toEqual([
    { identity: "uploader", method: "CreateResult", resource: "audit", outcome: "ok", code: undefined },
    { identity: "reader", method: "DeleteResult", resource: "audit/results/a", outcome: "denied", code: "permission_denied" },
    { identity: "-", method: "GetResult", resource: "audit/results/a", outcome: "denied", code: "unauthenticated" },
    { identity: "uploader", method: "CreateResult", resource: "audit", outcome: "already_exists", code: undefined },
  ]);
  const all = stderr.text;
  for (const secret of [writer, viewer]) expect(all).not.toContain(secret.slice(4));
});
