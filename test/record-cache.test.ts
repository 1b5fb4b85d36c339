// The encoded-record cache seen from outside: a real server lists the same
// records over REST and gRPC again and again while they are updated and
// deleted; every answer must show the stored state, and the REST bytes must
// be the protobuf JSON of the gRPC answer.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ListRecordsResponseSchema, type ListRecordsResponse } from "../src/gen/api_pb.ts";
import { encodeMessage } from "../src/api/rest/json.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await s.client.createResult({ parent: "ci", result: { name: "ci/results/build" } });
  for (let i = 0; i < 7; i++) {
    await s.client.createRecord({ parent: "ci/results/build", record: { name: `ci/results/build/records/r${i}`, data: { type: "tekton.dev/v1.TaskRun", value: doc(i, "Running") } } });
  }
});
afterAll(() => s?.close());

const doc = (i: number, reason: string) => new TextEncoder().encode(JSON.stringify({ kind: "TaskRun", metadata: { name: `r${i}` }, status: { conditions: [{ reason }] } }));
const LIST = "/apis/results.tekton.dev/v1alpha2/parents/ci/results/build/records?page_size=5";

async function both(pageToken = ""): Promise<{ rest: string; grpc: ListRecordsResponse }> {
  const res = await fetch(s.http + LIST + (pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ""));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("application/json");
  const rest = await res.text();
  const grpc = await s.client.listRecords({ parent: "ci/results/build", pageSize: 5, pageToken });
  expect(rest).toBe(encodeMessage(ListRecordsResponseSchema, grpc));
  return { rest, grpc };
}

const reasons = (r: ListRecordsResponse) => r.records.map((x) => `${x.name.split("/").pop()}:${JSON.parse(new TextDecoder().decode(x.data!.value)).status.conditions[0].reason}`);

test("listing again after an update shows the new state over REST and gRPC", async () => {
  const first = await both();
  expect(await both()).toEqual(first); // warm: same answer
  const updated = await s.client.updateRecord({ record: { name: "ci/results/build/records/r2", data: { type: "", value: doc(2, "Succeeded") } } });
  const after = await both();
  expect(reasons(after.grpc)).toEqual(["r0:Running", "r1:Running", "r2:Succeeded", "r3:Running", "r4:Running"]);
  expect(after.grpc.records[2]!.etag).toBe(updated.etag);
  expect(JSON.parse(after.rest).records[2].etag).toBe(updated.etag);
  // The next page, cached as well, also follows updates.
  await both(after.grpc.nextPageToken);
  await s.client.updateRecord({ record: { name: "ci/results/build/records/r6", data: { type: "", value: doc(6, "Failed") } } });
  expect(reasons((await both(after.grpc.nextPageToken)).grpc)).toEqual(["r5:Running", "r6:Failed"]);
});

test("a deleted record is gone from the next list", async () => {
  await both();
  const res = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha2/parents/ci/results/build/records/r1`, { method: "DELETE" });
  expect(res.status).toBe(200);
  const after = await both();
  expect(after.grpc.records.map((r) => r.name.split("/").pop())).toEqual(["r0", "r2", "r3", "r4", "r5"]);
});

test("a fields mask still prunes the answer", async () => {
  await both();
  const res = await fetch(`${s.http}${LIST}&fields=records.name`);
  expect(await res.json()).toEqual({ records: ["r0", "r2", "r3", "r4", "r5"].map((n) => ({ name: `ci/results/build/records/${n}` })) });
});
