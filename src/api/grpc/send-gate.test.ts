// Large answers take turns per connection: every answer, large or small,
// still arrives whole among concurrent calls, and a call that ends while
// waiting (deadline, cancel) does not keep its turn.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { LARGE_ANSWER_BYTES, largeAnswerTurns } from "./send-gate.ts";

const raw = (b: Buffer) => b;
const def: grpc.ServiceDefinition = {
  get: { path: "/t.T/Get", requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: (m: Uint8Array) => Buffer.from(m), responseDeserialize: raw },
};

let server: grpc.Server;
let client: grpc.Client & { get: Function };
beforeAll(async () => {
  server = new grpc.Server({ interceptors: [largeAnswerTurns()] });
  // The request is "<size>" or "<size>:<delay ms>"; the answer is that many bytes of (size % 251).
  server.addService(def, {
    get: (call: grpc.ServerUnaryCall<Buffer, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => {
      const [size, delay] = call.request.toString().split(":").map(Number);
      setTimeout(() => cb(null, new Uint8Array(size!).fill(size! % 251)), delay ?? 0);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Ctor = grpc.makeGenericClientConstructor(def, "T");
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 }) as unknown as typeof client;
});
afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

const call = (req: string, deadlineMs = 30_000) =>
  new Promise<Buffer>((resolve, reject) =>
    client.get(Buffer.from(req), new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (e: Error | null, b: Buffer) => (e ? reject(e) : resolve(b))),
  );

const big = LARGE_ANSWER_BYTES * 3;

test("concurrent large and small answers all arrive whole", async () => {
  const sizes = [big, 10, big + 1, 5000, big + 2, big + 3, 1, LARGE_ANSWER_BYTES];
  const got = await Promise.all(sizes.map((n) => call(String(n))));
  got.forEach((b, i) => {
    expect(b.length).toBe(sizes[i]!);
    expect(b.every((x) => x === sizes[i]! % 251)).toBe(true);
  });
});

test("calls that end while waiting for their turn give it up: later large answers still come", async () => {
  const ending = Array.from({ length: 6 }, (_, i) => call(`${big + i}`, 1).catch((e: grpc.ServiceError) => e.code));
  const codes = await Promise.all(ending);
  for (const c of codes) expect(typeof c === "number" ? c : grpc.status.OK).toBeOneOf([grpc.status.DEADLINE_EXCEEDED, grpc.status.OK]);
  const cancelled = client.get(Buffer.from(`${big}:50`), new grpc.Metadata(), {}, () => undefined) as grpc.ClientUnaryCall;
  cancelled.cancel();
  const after = await Promise.all([call(String(big)), call(String(big + 7))]);
  expect(after.map((b) => b.length)).toEqual([big, big + 7]);
});
