/**
 * What the Logs auth matrices (token and kubernetes mode) call with and on:
 * credentials as gRPC metadata or HTTP headers, and a Result holding an
 * uploaded log and a captured container's log.
 */
import * as grpc from "@grpc/grpc-js";
import { updateLog } from "./log-client.ts";
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
