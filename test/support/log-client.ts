/**
 * gRPC helpers for the Logs services' streaming calls (the typed client of
 * grpc-client.ts covers unary calls only): GetLog read to the end, UpdateLog
 * fed from a list of messages, or left to die half-way.
 */
import * as grpc from "@grpc/grpc-js";
import type { HttpBody } from "../../src/gen/google/api/httpbody_pb.ts";
import type { LogSummary } from "../../src/gen/resources_pb.ts";

type Raw = Record<string, (...args: unknown[]) => unknown>;

/** Reads a whole GetLog stream: the concatenated bytes and the messages' content types. */
export function getLog(client: grpc.Client, name: string, metadata?: grpc.Metadata): Promise<{ bytes: Buffer; messages: number; contentTypes: Set<string> }> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Raw).getLog!({ name }, metadata ?? new grpc.Metadata()) as grpc.ClientReadableStream<HttpBody>;
    const parts: Buffer[] = [];
    const types = new Set<string>();
    call.on("data", (m: HttpBody) => {
      parts.push(Buffer.from(m.data));
      types.add(m.contentType);
    });
    call.on("error", reject);
    call.on("end", () => resolve({ bytes: Buffer.concat(parts), messages: parts.length, contentTypes: types }));
  });
}

/** UpdateLog with these messages; `abortAfter` cancels the call after that many messages instead of closing it. */
export function updateLog(
  client: grpc.Client,
  msgs: Array<{ name: string; data: Uint8Array }>,
  opts: { abortAfter?: number; metadata?: grpc.Metadata } = {},
): Promise<LogSummary> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Raw).updateLog!(opts.metadata ?? new grpc.Metadata(), (err: grpc.ServiceError | null, res: LogSummary) => (err ? reject(err) : resolve(res))) as grpc.ClientWritableStream<unknown>;
    (async () => {
      let i = 0;
      for (const m of msgs) {
        if (opts.abortAfter !== undefined && i === opts.abortAfter) {
          // Give the server time to store what it got, then die.
          await new Promise((r) => setTimeout(r, 200));
          call.cancel();
          return;
        }
        if (!call.write(m)) await new Promise((r) => call.once("drain", r));
        i++;
      }
      call.end();
    })().catch(reject);
  });
}
