/**
 * A typed, promise-based grpc-js client for tests and benchmarks, built from
 * the same generated descriptors a user's generated client would use.
 */
import * as grpc from "@grpc/grpc-js";
import type { DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { clientDefinition } from "../../src/api/grpc/adapter.ts";

type UnaryMethods<S extends DescService> = {
  [K in keyof S["method"] as S["method"][K] extends DescMethodUnary ? K : never]: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? (req: MessageInitShape<I>, opts?: { metadata?: grpc.Metadata; deadlineMs?: number }) => Promise<MessageShape<O>>
    : never;
};

export type Client<S extends DescService> = UnaryMethods<S> & { close(): void; raw: grpc.Client };

export function makeClient<S extends DescService>(
  svc: S,
  address: string,
  options: grpc.ClientOptions = {},
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): Client<S> {
  const def = clientDefinition(svc);
  const Ctor = grpc.makeGenericClientConstructor(def, svc.name);
  const raw = new Ctor(address, credentials, {
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
    ...options,
  });
  const client: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const m of svc.methods) {
    if (m.methodKind !== "unary") continue;
    client[m.localName] = (req: unknown, opts: { metadata?: grpc.Metadata; deadlineMs?: number } = {}) =>
      new Promise((resolve, reject) => {
        const callOpts: grpc.CallOptions = opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {};
        (raw as unknown as Record<string, Function>)[m.localName]!.call(
          raw,
          req,
          opts.metadata ?? new grpc.Metadata(),
          callOpts,
          (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
        );
      });
  }
  return client as Client<S>;
}

/** Awaits a call expected to fail and returns its status code and message. */
export async function grpcError(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export const Code = grpc.status;
