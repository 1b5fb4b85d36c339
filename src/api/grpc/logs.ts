/**
 * The Logs services over gRPC: tekton.results.v1alpha2.Logs (GetLog
 * server-streaming, UpdateLog client-streaming, ListLogs, DeleteLog) and
 * tekton.results.v1alpha3.Logs/GetLog. Streams honour flow control: GetLog
 * waits for the client to drain before reading the next chunk, and UpdateLog
 * reads the next message only after the previous chunk is stored, so a slow
 * reader or a fast writer never grows the server's memory.
 */
import { create, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Authorizer } from "../../core/auth.ts";
import type { ClientLimiter } from "../../core/client-limit.ts";
import type { LogMessage, LogsService, OpenLog } from "../../core/logs-service.ts";
import { Logs } from "../../gen/api_pb.ts";
import { HttpBodySchema } from "../../gen/google/api/httpbody_pb.ts";
import { Logs as LogsV1alpha3 } from "../../gen/log_pb.ts";
import { LogSchema, LogSummarySchema } from "../../gen/resources_pb.ts";
import { relieveLogMemory } from "../log-memory.ts";
import { LogAccess, logsRpc } from "../logs-rpc.ts";
import { clientDefinition, decodeRequest, toStatus, unaryService, type UnaryImpl } from "./adapter.ts";
import { callContext } from "./results.ts";

/** HttpBody messages carry this much (upstream's LOGS_BUFFER_SIZE default). */
export const GET_LOG_MESSAGE_BYTES = 32 * 1024;

type Service = { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation };

/** Resolves on 'drain', or when the call ends first; leaves no listener behind. */
function drained(call: grpc.ServerWritableStream<Buffer, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const ev of ["drain", "cancelled", "close", "error"]) call.off(ev, done);
      resolve();
    };
    for (const ev of ["drain", "cancelled", "close", "error"]) call.once(ev, done);
  });
}

/** Streams a log as HttpBody messages, waiting for 'drain' when grpc-js' buffer is full. */
async function sendLog(log: OpenLog, call: grpc.ServerWritableStream<Buffer, unknown>): Promise<void> {
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  const it = log.stream();
  try {
    for await (const chunk of it) {
      relieveLogMemory();
      for (let off = 0; off < chunk.byteLength; off += GET_LOG_MESSAGE_BYTES) {
        if (cancelled) return;
        const data = chunk.subarray(off, Math.min(off + GET_LOG_MESSAGE_BYTES, chunk.byteLength));
        if (!call.write(create(HttpBodySchema, { contentType: "text/plain", data }))) {
          await drained(call);
        }
      }
    }
  } finally {
    await it.return(undefined);
  }
}

function getLogImpl(access: LogAccess, method: string, acceptRecordNames: boolean, input: DescMessage) {
  return (call: grpc.ServerWritableStream<Buffer, unknown>) => {
    let name: string;
    try {
      name = (decodeRequest(input, call.request) as unknown as { name: string }).name;
    } catch (e) {
      call.emit("error", toStatus(e, method));
      return;
    }
    const ctx = callContext(call.metadata, call.getPeer());
    access.getLog(name, ctx, { acceptRecordNames }, (log) => sendLog(log, call)).then(
      () => call.end(),
      (e) => call.emit("error", toStatus(e, method)),
    );
  };
}

/** The client's messages, decoded, one at a time (the next is read only when asked for). */
async function* messages(call: grpc.ServerReadableStream<Buffer, unknown>): AsyncGenerator<LogMessage> {
  for await (const b of call as AsyncIterable<Buffer>) {
    const m = decodeRequest(LogSchema, b);
    yield { name: m.name, data: m.data };
  }
}

export function logsService(svc: LogsService, authz?: Authorizer, limiter?: ClientLimiter): Service {
  const access = new LogAccess(svc, authz, limiter);
  const impls: Record<string, UnaryImpl> = {};
  for (const [name, rpc] of logsRpc(svc, authz, limiter)) impls[name] = (req, call) => rpc.call(req, callContext(call.metadata, call.getPeer()));
  const unary = unaryService(Logs, impls);
  const streaming = clientDefinition(Logs);
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...unary.definition };
  const implementation: grpc.UntypedServiceImplementation = { ...unary.implementation };

  const getPath = `/${Logs.typeName}/GetLog`;
  definition.getLog = { ...streaming.getLog!, requestDeserialize: (b: Buffer) => b };
  implementation.getLog = getLogImpl(access, getPath, false, Logs.method.getLog.input);

  const updatePath = `/${Logs.typeName}/UpdateLog`;
  definition.updateLog = { ...streaming.updateLog!, requestDeserialize: (b: Buffer) => b };
  implementation.updateLog = (call: grpc.ServerReadableStream<Buffer, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    access.updateLog(messages(call), callContext(call.metadata, call.getPeer())).then(
      (s) => cb(null, create(LogSummarySchema, { record: s.record, bytesReceived: BigInt(s.bytesReceived) })),
      (e) => cb(toStatus(e, updatePath)),
    );
  };
  return { definition, implementation };
}

/** tekton.results.v1alpha3.Logs/GetLog: a log name, or the name of the run's record. */
export function logsV1alpha3Service(svc: LogsService, authz?: Authorizer, limiter?: ClientLimiter): Service {
  const access = new LogAccess(svc, authz, limiter);
  const def = clientDefinition(LogsV1alpha3);
  const path = `/${LogsV1alpha3.typeName}/GetLog`;
  return {
    definition: { getLog: { ...def.getLog!, requestDeserialize: (b: Buffer) => b } },
    implementation: { getLog: getLogImpl(access, path, true, LogsV1alpha3.method.getLog.input) },
  };
}
