// Issue 8: the audit trail of a real server in auth mode `token` — writes,
// deletes and refusals each leave one structured line; secrets never do.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
let lines: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  s = await startTestServer({ config: { authMode: "token" } });
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (realWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
});
afterAll(async () => {
  process.stderr.write = realWrite;
  await s.close();
});

const md = (secret: string | null) => {
  const m = new grpc.Metadata();
  if (secret !== null) m.set("authorization", `Bearer ${secret}`);
  return m;
};
const audits = () =>
  lines
    .join("")
    .split("\n")
    .filter((l) => l.includes('"msg":"audit"'))
    .map((l) => JSON.parse(l) as Record<string, string>);

test("writes, deletes and refusals are audited with identity, method, resource, outcome; reads and secrets are not", async () => {
  const writer = s.app.tokens!.create("uploader", "writer", null);
  const viewer = s.app.tokens!.create("reader", "viewer", null);
  lines = [];
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
  const all = lines.join("");
  for (const secret of [writer, viewer]) expect(all).not.toContain(secret.slice(4));
});
