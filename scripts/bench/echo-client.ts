/**
 * Ceiling B's client (its own process): the same 5-call pattern, pool and
 * concurrency as ingest-client.ts, but each call sends the exact protobuf
 * bytes Hindsight would receive (CreateResultRequest, CreateRecordRequest,
 * UpdateRecordRequest) to the echo server, which sends them back; so the
 * transport moves the same message sizes both ways with no application work.
 * Like the typed client, it decodes each answer (with the request's schema,
 * since that is what comes back), so the client side does the same protobuf
 * work: against a server that answers as fast, both clients cost about the
 * same CPU per call (417 and 426 µs measured, docs/benchmarks.md); against
 * the slower real server the ingest client costs more per call.
 *
 *   bun scripts/bench/echo-client.ts --address 127.0.0.1:PORT --runs 8000 --warmup 200 --pool 1000
 *
 * `--in-flight`, `--connections` and `--window` as in ingest-client.ts.
 *
 * With --download-bytes N it instead measures, one call in flight, `--repeat`
 * calls that fetch N bytes: the transport's share of a ListRecords page.
 */
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { CreateRecordRequestSchema, CreateResultRequestSchema, UpdateRecordRequestSchema } from "../../src/gen/api_pb.ts";
import { echoDefinition } from "./echo-server.ts";
import { drive } from "./load.ts";
import { argMap, buildRunPool, IN_FLIGHT, ingestCall, progress, summarize, transportOptions } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const pool = a["download-bytes"] ? [] : buildRunPool(Number(a.seed ?? 1), Number(a.pool ?? 1000));
const Ctor = grpc.makeGenericClientConstructor(echoDefinition, "Echo");
type EchoClient = grpc.Client & Record<"echo" | "download", (req: Buffer, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void>;
const transport = transportOptions(a);
const clients = Array.from(
  { length: transport.connections },
  () =>
    new Ctor(a.address!, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      ...transport.channel,
    }) as unknown as EchoClient,
);
const client = clients[0]!;

const fetchBytes = (n: number) =>
  new Promise<Buffer>((resolve, reject) =>
    client.download(Buffer.from(String(n)), new grpc.Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res!))),
  );
if (a["download-bytes"]) {
  const n = Number(a["download-bytes"]);
  const lat: number[] = [];
  for (let i = -20; i < Number(a.repeat ?? 200); i++) {
    const s = performance.now();
    await fetchBytes(n);
    if (i >= 0) lat.push(performance.now() - s);
  }
  client.close();
  console.log(JSON.stringify({ bytes: n, lat: summarize(lat) }));
  process.exit(0);
}

const SCHEMAS: DescMessage[] = [CreateResultRequestSchema, CreateRecordRequestSchema, UpdateRecordRequestSchema, UpdateRecordRequestSchema, UpdateRecordRequestSchema];

/** Encoded like the typed client does it: create the message, toBinary, wrap in a Buffer. */
function message(i: number, k: number): Buffer {
  const c = ingestCall(pool, i, k);
  const data = { type: c.type, value: c.value };
  const bytes =
    c.kind === "createResult"
      ? toBinary(CreateResultRequestSchema, create(CreateResultRequestSchema, { parent: c.namespace, result: { name: c.resultName } }))
      : c.kind === "createRecord"
        ? toBinary(CreateRecordRequestSchema, create(CreateRecordRequestSchema, { parent: c.resultName, record: { name: c.recordName, data } }))
        : toBinary(UpdateRecordRequestSchema, create(UpdateRecordRequestSchema, { record: { name: c.recordName, data }, etag: "" }));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const result = await drive({
  runs: Number(a.runs ?? 8000),
  warmup: Number(a.warmup ?? 200),
  inFlight: Number(a["in-flight"] ?? IN_FLIGHT),
  maxSeconds: Number(a["max-seconds"] ?? 90),
  onProgress: (n, s) => progress(`echo: ${n} runs in ${s.toFixed(0)} s (${((n * 5) / s).toFixed(0)} calls/s)`),
  call: (i, k) =>
    new Promise((resolve, reject) =>
      clients[i % clients.length]!.echo(message(i, k), new grpc.Metadata(), {}, (err, res) => (err ? reject(err) : resolve(fromBinary(SCHEMAS[k]!, res!)))),
    ),
});
for (const c of clients) c.close();
const summary = Object.fromEntries(Object.entries(result.lat).map(([k, v]) => [k, summarize(v)]));
const all = summarize(Object.values(result.lat).flat());
console.log(JSON.stringify({ runs: result.runs, calls: result.calls, errors: result.errors, firstError: result.firstError, seconds: result.seconds, summary, all }));
