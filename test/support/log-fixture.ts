/**
 * What the Logs auth matrices (token and kubernetes mode) call with and on:
 * credentials as gRPC metadata or HTTP headers, a Result holding an
 * uploaded log and a captured container's log, and the checks of every
 * Logs call as one caller against what that caller may do.
 */
import { expect } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import type { Logs } from "../../src/gen/api_pb.ts";
import type { Logs as LogsV1alpha3 } from "../../src/gen/log_pb.ts";
import { grpcError, type Client } from "./grpc-client.ts";
import { getLog, updateLog } from "./log-client.ts";
import type { TestServer } from "./server.ts";
import { json } from "./wire.ts";

/** `authorization` as gRPC metadata; none when null. */
export function authMetadata(authorization: string | null): grpc.Metadata {
  const m = new grpc.Metadata();
  if (authorization !== null) m.set("authorization", authorization);
  return m;
}

/** `authorization` as HTTP headers; none when null. */
export const authHeaders = (authorization: string | null): Record<string, string> => (authorization === null ? {} : { authorization });

export interface LogFixture {
  result: string;
  /** The uploaded log's id, name and Log record name. */
  id: string;
  log: string;
  record: string;
  /** The captured container's pod (container "step-build") and its log's name. */
  pod: string;
  capture: string;
}

let seq = 0;

/**
 * A Result under `parent` with a Log record holding "hello\n" (uploaded with
 * UpdateLog) and a second Log record holding "captured\n" as the watcher
 * stores a container's output (pod `pod-N`, container step-build), for the
 * Dashboard route. Made with `metadata`, an identity allowed to.
 */
export async function makeLogFixture(s: TestServer, logs: grpc.Client, parent: string, metadata: grpc.Metadata): Promise<LogFixture> {
  const n = ++seq;
  const result = `${parent}/results/l${n}`;
  await s.client.createResult({ parent, result: { name: result } }, { metadata });
  const logRecord = (id: string) => {
    const doc = { kind: "Log", apiVersion: "results.tekton.dev/v1alpha3", metadata: { name: id, namespace: parent, uid: id }, spec: { resource: { kind: "TaskRun", namespace: parent, name: id, uid: crypto.randomUUID() }, type: "File" } };
    return s.client.createRecord({ parent: result, record: { name: `${result}/records/${id}`, data: { type: "results.tekton.dev/v1alpha3.Log", value: json(doc) } } }, { metadata });
  };
  const id = `log-${n}`;
  const rec = await logRecord(id);
  await updateLog(logs, [{ name: `${result}/logs/${id}`, data: new TextEncoder().encode("hello\n") }], { metadata });
  const pod = `pod-${n}`;
  const captured = await logRecord(`cap-${n}`);
  const [part] = await s.app.logs.captureParts(captured.uid, [{ idx: 0, staging: false, label: "step-build", source: { namespace: parent, pod, container: "step-build" } }]);
  await s.app.logs.appendCaptured(part!.id, new TextEncoder().encode("captured\n"), { done: true });
  return { result, id, log: `${result}/logs/${id}`, record: rec.name, pod, capture: `${result}/logs/cap-${n}` };
}

/**
 * What one caller may do to a fixture's log: null where allowed, else the
 * gRPC code of the refusal. `dashboard` is the HTTP status of the Tekton
 * Dashboard's route for the captured container.
 */
export interface LogAccess {
  get: number | null;
  list: number | null;
  update: number | null;
  delete: number | null;
  dashboard: number;
}

/** HTTP statuses of the refusals the matrices expect. */
const HTTP: Record<number, number> = { [grpc.status.UNAUTHENTICATED]: 401, [grpc.status.PERMISSION_DENIED]: 403 };

/**
 * Every Logs call over gRPC on `f` as one caller (`md`): GetLog through both
 * versions, ListLogs, UpdateLog and DeleteLog, each allowed or refused as
 * `want` says, and a refused write changing nothing (checked as `admin`).
 */
export async function checkLogCallsGrpc(clients: { logs: Client<typeof Logs>; v3: Client<typeof LogsV1alpha3> }, f: LogFixture, md: grpc.Metadata, admin: grpc.Metadata, want: LogAccess): Promise<void> {
  const { logs, v3 } = clients;
  for (const client of [logs.raw, v3.raw]) {
    const p = getLog(client, f.log, md);
    if (want.get === null) expect((await p).bytes.toString()).toBe("hello\n");
    else expect((await grpcError(p)).code).toBe(want.get);
  }
  const list = logs.listLogs({ parent: f.result }, { metadata: md });
  if (want.list === null) expect((await list).records.map((r) => r.name).sort()).toEqual([f.capture, f.log]);
  else expect((await grpcError(list)).code).toBe(want.list);

  const up = updateLog(logs.raw, [{ name: f.log, data: new TextEncoder().encode("replaced\n") }], { metadata: md });
  if (want.update === null) expect((await up).bytesReceived).toBe(9n);
  else expect((await grpcError(up)).code).toBe(want.update);
  // A refused upload changed nothing.
  expect((await getLog(logs.raw, f.log, admin)).bytes.toString()).toBe(want.update === null ? "replaced\n" : "hello\n");

  const del = logs.deleteLog({ name: f.log }, { metadata: md });
  if (want.delete === null) await del;
  else expect((await grpcError(del)).code).toBe(want.delete);
  const after = await logs.listLogs({ parent: f.result }, { metadata: admin });
  expect(after.records.map((r) => r.name).includes(f.log)).toBe(want.delete !== null);
}

/**
 * The same over REST (`headers`): GET of the log by the v1alpha2 and
 * v1alpha3 routes, the list route, the Dashboard's route, DELETE.
 */
export async function checkLogCallsRest(s: TestServer, f: LogFixture, headers: Record<string, string>, want: LogAccess): Promise<void> {
  const [parent, , result] = f.result.split("/");
  const base = `${s.http}/apis/results.tekton.dev`;
  for (const [path, w] of [
    [`${base}/v1alpha2/parents/${parent}/results/${result}/logs/${f.id}`, want.get],
    [`${base}/v1alpha3/parents/${parent}/results/${result}/logs/${f.id}`, want.get],
    [`${base}/v1alpha2/parents/${parent}/results/${result}/logs`, want.list],
  ] as const) {
    const r = await fetch(path, { headers });
    expect([path, r.status]).toEqual([path, w === null ? 200 : HTTP[w]!]);
    const body = await r.text();
    if (w === null && !path.endsWith("/logs")) expect(body).toBe("hello\n");
    if (w !== null) expect(JSON.parse(body).code).toBe(w);
  }
  const dash = await fetch(`${s.http}/logs/${parent}/${f.pod}/step-build`, { headers });
  expect(dash.status).toBe(want.dashboard);
  if (want.dashboard === 200) expect(await dash.text()).toBe("captured\n");
  else await dash.text();

  const del = await fetch(`${base}/v1alpha2/parents/${parent}/results/${result}/logs/${f.id}`, { method: "DELETE", headers });
  expect(del.status).toBe(want.delete === null ? 200 : HTTP[want.delete]!);
  await del.text();
}

/** The Dashboard route's status for a caller whose reads are refused with `get` (null: allowed). */
export const dashboardStatus = (get: number | null): number => (get === null ? 200 : HTTP[get]!);
