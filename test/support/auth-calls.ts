/**
 * One request per Results RPC, over gRPC and REST, against a fixture (a
 * Result with one record): the auth matrices of every mode send these, so
 * each mode is tested on exactly the same calls.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Client } from "./grpc-client.ts";
import type { Results } from "../../src/gen/api_pb.ts";

export const RECORD_VALUE = Buffer.from('{"kind":"TaskRun","metadata":{"name":"x"}}');
const DATA_TYPE = "tekton.dev/v1.TaskRun";

export interface Fixture {
  result: string;
  record: string;
}

/** What each Results RPC does, in token-mode roles. */
export const RESULTS_ACTIONS: Record<string, "read" | "write" | "delete"> = {
  createResult: "write",
  getResult: "read",
  updateResult: "write",
  deleteResult: "delete",
  listResults: "read",
  createRecord: "write",
  getRecord: "read",
  updateRecord: "write",
  deleteRecord: "delete",
  listRecords: "read",
  getRecordListSummary: "read",
};

let seq = 0;

/** A fresh result with one record under `parent`, made with `metadata` (an identity allowed to). */
export async function makeFixture(client: Client<typeof Results>, parent: string, metadata: grpc.Metadata): Promise<Fixture> {
  const result = `${parent}/results/r${++seq}`;
  await client.createResult({ parent, result: { name: result } }, { metadata });
  const record = `${result}/records/x`;
  await client.createRecord({ parent: result, record: { name: record, data: { type: DATA_TYPE, value: RECORD_VALUE } } }, { metadata });
  return { result, record };
}

/** The gRPC request of `method` on fixture `f` (whose parent is `parent`). */
export function grpcRequest(method: string, parent: string, f: Fixture): unknown {
  switch (method) {
    case "createResult":
      return { parent, result: { name: `${f.result}-new` } };
    case "getResult":
    case "deleteResult":
      return { name: f.result };
    case "updateResult":
      return { name: f.result, result: { name: f.result, annotations: { a: "b" } } };
    case "listResults":
      return { parent };
    case "createRecord":
      return { parent: f.result, record: { name: `${f.result}/records/new`, data: { type: DATA_TYPE, value: RECORD_VALUE } } };
    case "getRecord":
    case "deleteRecord":
      return { name: f.record };
    case "updateRecord":
      return { record: { name: f.record, data: { type: DATA_TYPE, value: RECORD_VALUE } } };
    case "listRecords":
      return { parent: f.result };
    case "getRecordListSummary":
      return { parent: f.result, summary: "total" };
  }
  throw new Error(method);
}

/** The REST request of `method` on fixture `f`, relative to /apis/results.tekton.dev/v1alpha2/. */
export function restRequest(method: string, parent: string, f: Fixture): { verb: string; path: string; body?: unknown } {
  const data = { type: DATA_TYPE, value: RECORD_VALUE.toString("base64") };
  switch (method) {
    case "createResult":
      return { verb: "POST", path: `parents/${parent}/results`, body: { name: `${f.result}-new` } };
    case "getResult":
      return { verb: "GET", path: `parents/${f.result}` };
    case "deleteResult":
      return { verb: "DELETE", path: `parents/${f.result}` };
    case "updateResult":
      // Without ?name= (as the CLI sends it): the check follows the service's fallback to result.name.
      return { verb: "PATCH", path: `parents/${f.result}`, body: { annotations: { a: "b" } } };
    case "listResults":
      return { verb: "GET", path: `parents/${parent}/results` };
    case "createRecord":
      return { verb: "POST", path: `parents/${f.result}/records`, body: { name: `${f.result}/records/new`, data } };
    case "getRecord":
      return { verb: "GET", path: `parents/${f.record}` };
    case "deleteRecord":
      return { verb: "DELETE", path: `parents/${f.record}` };
    case "updateRecord":
      return { verb: "PATCH", path: `parents/${f.record}`, body: { data } };
    case "listRecords":
      return { verb: "GET", path: `parents/${f.result}/records` };
    case "getRecordListSummary":
      return { verb: "GET", path: `parents/${f.result}/records/summary?summary=total` };
  }
  throw new Error(method);
}

/** Calls `method` on the gRPC client: "ok" or the status code. */
export function callGrpc(client: Client<typeof Results>, method: string, req: unknown, metadata: grpc.Metadata): Promise<"ok" | number> {
  const call = (client as unknown as Record<string, (r: unknown, o: unknown) => Promise<unknown>>)[method]!;
  return call(req, { metadata }).then(
    () => "ok" as const,
    (e: grpc.ServiceError) => e.code,
  );
}
