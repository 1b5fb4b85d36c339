/**
 * Bridges bufbuild-generated service descriptors to grpc-js. The server
 * receives raw bytes and decodes them itself, so a malformed message becomes
 * INVALID_ARGUMENT (grpc-js would answer INTERNAL), and every error leaving a
 * handler goes through the one error table: clients see a code and a safe
 * message, the log keeps the rest.
 */
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { errorTable, toAppError } from "../../core/errors.ts";
import { log } from "../../log.ts";
import { RecordSchema, type Record as RecordMsg } from "../../gen/resources_pb.ts";
import { recordBinary } from "./record-binary.ts";

/**
 * A handler may return its answer already encoded (a Uint8Array: ListRecords
 * from the encoded-record cache); it is sent as it is.
 */
function serializer(desc: DescMessage) {
  // Records (CreateRecord, UpdateRecord, GetRecord answers) take the exact-size encoder, framed in place.
  const isRecord = desc.typeName === RecordSchema.typeName;
  return (msg: unknown): Buffer => {
    if (msg instanceof Uint8Array) return Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
    const m = isMessage(msg, desc) ? msg : create(desc, msg as never);
    if (isRecord) return recordBinary(m as RecordMsg, true) as Buffer;
    const bytes = toBinary(desc, m);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

const deserializer = (desc: DescMessage) => (b: Buffer) => fromBinary(desc, b);
const raw = (b: Buffer) => b;

const isClientStreaming = (m: DescMethod) => m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming";
const isServerStreaming = (m: DescMethod) => m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming";

/** A grpc-js service definition for clients (tests, benchmarks, tools). */
export function clientDefinition(svc: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of svc.methods) {
    def[m.localName] = {
      path: `/${svc.typeName}/${m.name}`,
      requestStream: isClientStreaming(m),
      responseStream: isServerStreaming(m),
      requestSerialize: serializer(m.input),
      requestDeserialize: deserializer(m.input),
      responseSerialize: serializer(m.output),
      responseDeserialize: deserializer(m.output),
      originalName: m.name,
    };
  }
  return def;
}

/** Decodes a request, mapping a decode failure to INVALID_ARGUMENT. */
export function decodeRequest<D extends DescMessage>(desc: D, bytes: Buffer): MessageShape<D> {
  try {
    return fromBinary(desc, bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw Object.assign(new Error(why), { grpcCode: grpc.status.INVALID_ARGUMENT });
  }
}

/** The status object grpc-js sends for any error thrown by a handler. */
export function toStatus(err: unknown, method: string): grpc.ServiceError {
  const grpcCode = (err as { grpcCode?: number }).grpcCode;
  if (grpcCode !== undefined) {
    return Object.assign(new Error("invalid request"), {
      code: grpcCode,
      details: `cannot decode request: ${(err as Error).message}`,
      metadata: new grpc.Metadata(),
    });
  }
  const e = toAppError(err);
  if (e.code === "internal") log.error("request failed", { method, error: e.cause ?? err });
  return Object.assign(new Error(e.message), {
    code: errorTable[e.code].grpc,
    details: e.message,
    metadata: new grpc.Metadata(),
  });
}

export type UnaryImpl = (req: never, call: grpc.ServerUnaryCall<Buffer, unknown>) => Promise<unknown>;

/**
 * A grpc-js service definition plus implementation for unary methods. Methods
 * without an implementation are left out, so grpc-js answers UNIMPLEMENTED.
 */
export function unaryService(
  svc: DescService,
  impls: Record<string, UnaryImpl>,
): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const m of svc.methods) {
    const impl = impls[m.localName];
    if (!impl) continue;
    definition[m.localName] = {
      path: `/${svc.typeName}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: serializer(m.input),
      requestDeserialize: raw,
      responseSerialize: serializer(m.output),
      responseDeserialize: deserializer(m.output),
      originalName: m.name,
    };
    const path = `/${svc.typeName}/${m.name}`;
    implementation[m.localName] = (call: grpc.ServerUnaryCall<Buffer, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      let req: unknown;
      try {
        req = decodeRequest(m.input, call.request);
      } catch (e) {
        cb(toStatus(e, path));
        return;
      }
      impl(req as never, call).then(
        (res) => cb(null, res),
        (e) => cb(toStatus(e, path)),
      );
    };
  }
  return { definition, implementation };
}
