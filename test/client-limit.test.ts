// Issue 8: the per-client cap on calls in flight, on a real server: past it a
// client gets RESOURCE_EXHAUSTED / 429 at once, and its slots come back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ config: { maxCallsPerClient: 2 } });
  for (let i = 0; i < 20; i++) await s.client.createResult({ parent: "cap", result: { name: `cap/results/r${i}` } });
});
afterAll(() => s.close());

test("a flood from one client: calls past the cap get 429 with code 8 (REST) or RESOURCE_EXHAUSTED (gRPC); the rest succeed; slots are released", async () => {
  const url = `${s.http}/apis/results.tekton.dev/v1alpha2/parents/cap/results?page_size=20`;
  // Writes wait for their commit, so a burst of them is in flight together.
  const answers = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const r = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha2/parents/cap/results`, { method: "POST", body: JSON.stringify({ name: `cap/results/rest-${i}` }) });
      return { status: r.status, body: await r.text() };
    }),
  );
  const refused = answers.filter((a) => a.status === 429);
  expect(refused.length).toBeGreaterThan(0);
  for (const a of refused) expect(JSON.parse(a.body).code).toBe(8);
  expect(answers.filter((a) => a.status !== 429).every((a) => a.status === 200)).toBe(true);

  const grpcCodes = await Promise.all(
    Array.from({ length: 40 }, (_, i) => s.client.createResult({ parent: "cap", result: { name: `cap/results/grpc-${i}` } }).then(() => 0, (e: { code: number }) => e.code)),
  );
  expect(grpcCodes.filter((c) => c === Code.RESOURCE_EXHAUSTED).length).toBeGreaterThan(0);
  expect(grpcCodes.every((c) => c === 0 || c === Code.RESOURCE_EXHAUSTED)).toBe(true);

  // Every slot came back: sequential calls all go through.
  for (let i = 0; i < 5; i++) expect((await fetch(url)).status).toBe(200);
  // Nothing refused was written.
  const names = (await s.client.listResults({ parent: "cap", pageSize: 1000 })).results.map((r) => r.name);
  expect(names.length).toBe(20 + answers.filter((a) => a.status === 200).length + grpcCodes.filter((c) => c === 0).length);
});
