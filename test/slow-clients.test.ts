// Issue 8, abuse limits: clients that connect and stall, trickle their
// headers, or leave a request half-sent are cut off on both listeners, and
// other clients keep being served meanwhile. Real server, real sockets.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { Logs } from "../src/gen/api_pb.ts";
import { makeClient, type Client } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { json } from "./support/wire.ts";

let s: TestServer;
let logs: Client<typeof Logs>;
const IDLE = 1000;
/** Longest a stalled client may live: the timeout plus slack for Bun's 4 s timer ticks and a loaded machine. */
const CUT_BY = 7000;
/** Bun's own limit for a connection that has not sent complete request headers (about 10 s, not configurable). */
const BUN_HEADER_CUT_BY = 20_000;

beforeAll(async () => {
  s = await startTestServer({ config: { httpIdleTimeoutMs: IDLE, grpcIdleTimeoutMs: IDLE, grpcReadTimeoutMs: IDLE } });
  logs = makeClient(Logs, s.address);
});
afterAll(async () => {
  logs.close();
  await s.close();
});

/** A raw TCP client: sends `first`, then `drip` every `everyMs`; resolves with how long the server kept it (capped at `giveUpMs`). */
function rawClient(port: number, first: string, drip: string | null, everyMs: number, giveUpMs = 10_000): Promise<{ ms: number; cut: boolean }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let done = false;
    const sock = tcpConnect(port, "127.0.0.1", () => {
      if (first) sock.write(first);
    });
    const iv = drip === null ? null : setInterval(() => sock.writable && sock.write(drip), everyMs);
    const finish = (cut: boolean) => {
      if (done) return;
      done = true;
      if (iv) clearInterval(iv);
      sock.destroy();
      resolve({ ms: Date.now() - t0, cut });
    };
    sock.on("error", () => {});
    // Read what the server sends (an error, a GOAWAY): a paused socket never sees the close.
    sock.resume();
    sock.on("close", () => finish(true));
    setTimeout(() => finish(false), giveUpMs);
  });
}

/** An HTTP/2 gRPC stream whose request message never completes (a byte every 200 ms). */
function halfSentGrpc(port: number): Promise<{ ms: number; cut: boolean }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": "/tekton.results.v1alpha2.Results/GetResult", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.on("response", () => {});
    stream.resume();
    // Length prefix: 200 bytes of message follow; they come one at a time.
    stream.write(Buffer.from([0, 0, 0, 0, 200]));
    const iv = setInterval(() => !stream.destroyed && stream.write(Buffer.from([0x0a])), 200);
    let done = false;
    const finish = (cut: boolean) => {
      if (done) return;
      done = true;
      clearInterval(iv);
      stream.destroy();
      session.destroy();
      resolve({ ms: Date.now() - t0, cut });
    };
    stream.on("close", () => finish(true));
    setTimeout(() => finish(false), 10_000);
  });
}

/** Normal calls on both listeners; all must succeed. */
async function normalCalls(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha2/parents/p/results`);
    expect(r.status).toBe(200);
    await r.text();
    await s.client.listResults({ parent: "p" });
  }
}

test("REST: a client silent after connecting or stalled mid-headers is cut off by Bun's header limit; one stalled mid-body by http.idleTimeout", async () => {
  const port = s.app.httpPort;
  const [silent, midHeaders, midBody] = await Promise.all([
    rawClient(port, "", null, 0, 30_000),
    rawClient(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", null, 0, 30_000),
    rawClient(port, "POST /apis/results.tekton.dev/v1alpha2/parents/p/results HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", null, 0, 30_000),
  ]);
  for (const g of [silent!, midHeaders!]) {
    expect(g.cut).toBe(true);
    expect(g.ms).toBeLessThan(BUN_HEADER_CUT_BY);
  }
  expect(midBody!.cut).toBe(true);
  expect(midBody!.ms).toBeLessThan(CUT_BY);
}, 40_000);

test("gRPC: a connection that never starts HTTP/2, one that opens no call, and a unary request left half-sent are cut off", async () => {
  const port = s.app.grpcPort;
  const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
  const got = await Promise.all([rawClient(port, "", null, 0), rawClient(port, PREFACE, null, 0), halfSentGrpc(port)]);
  for (const g of got) {
    expect(g.cut).toBe(true);
    expect(g.ms).toBeLessThan(CUT_BY);
  }
});

test("40 stalled clients on both listeners: normal calls keep succeeding meanwhile, and the stalled ones are all cut off", async () => {
  const attackers: Array<Promise<{ ms: number; cut: boolean }>> = [];
  for (let i = 0; i < 20; i++) {
    attackers.push(rawClient(s.app.httpPort, "POST /apis/results.tekton.dev/v1alpha2/parents/p/results HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", null, 0));
    attackers.push(i % 2 ? halfSentGrpc(s.app.grpcPort) : rawClient(s.app.grpcPort, "", null, 0));
  }
  await normalCalls(20);
  for (const g of await Promise.all(attackers)) expect(g.cut).toBe(true);
  await normalCalls(5);
});

test("an upload (client-streaming UpdateLog) that takes longer than the read timeout is not cut", async () => {
  const parent = "slow";
  const result = `${parent}/results/r`;
  await s.client.createResult({ parent, result: { name: result } });
  const doc = { kind: "Log", apiVersion: "results.tekton.dev/v1alpha3", metadata: { name: "l", namespace: parent, uid: "l" }, spec: { resource: { kind: "TaskRun", namespace: parent, name: "l", uid: crypto.randomUUID() }, type: "File" } };
  await s.client.createRecord({ parent: result, record: { name: `${result}/records/l`, data: { type: "results.tekton.dev/v1alpha3.Log", value: json(doc) } } });
  const summary = await new Promise<{ bytesReceived: bigint }>((resolve, reject) => {
    const call = (logs.raw as unknown as Record<string, Function>).updateLog!(new grpc.Metadata(), (err: Error | null, res: { bytesReceived: bigint }) => (err ? reject(err) : resolve(res))) as grpc.ClientWritableStream<unknown>;
    call.write({ name: `${result}/logs/l`, data: new TextEncoder().encode("first\n") });
    setTimeout(() => {
      call.write({ name: `${result}/logs/l`, data: new TextEncoder().encode("second\n") });
      call.end();
    }, IDLE * 2.5);
  });
  expect(summary.bytesReceived).toBe(13n);
});
