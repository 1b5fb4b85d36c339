/**
 * Ceiling B's server: a grpc-js server (same library, options and runtime as
 * Hindsight's listener) with one unary method that answers with the request
 * bytes, untouched, and one that answers a tiny request (a decimal byte
 * count) with that many bytes, as a list page answers a small request.
 * Prints {"port": N} on stdout once listening; SIGTERM stops it.
 */
import * as grpc from "@grpc/grpc-js";

const raw = (b: Buffer) => b;
const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/bench.Echo/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
  originalName: name,
});
export const echoDefinition: grpc.ServiceDefinition = { echo: method("Echo"), download: method("Download") };

if (import.meta.main) {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 32 * 1024 * 1024, "grpc.max_send_message_length": -1 });
  server.addService(echoDefinition, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
    download: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.alloc(Number(call.request.toString()), 0x61)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  console.log(JSON.stringify({ port }));
  process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
}
