/**
 * Load client for the REST benchmark (its own process): `--in-flight` calls
 * at a time for `--seconds` after `--warmup` seconds, either REST (fetch on
 * keep-alive connections, reading each answer's bytes in full) or gRPC
 * (grpc-js, decoding each answer). Marks the measured window on stderr
 * (MEASURE_START / MEASURE_END) and prints one JSON line:
 * { calls, seconds, bytes, lat }.
 *
 *   bun scripts/bench/rest-client.ts --mode rest --url http://127.0.0.1:P/apis/... [--in-flight 8 --seconds 4 --warmup 1]
 *   bun scripts/bench/rest-client.ts --mode grpc --address 127.0.0.1:P --call listRecords --request '{"parent":"a/results/b","pageSize":50}'
 */
import { Results } from "../../src/gen/api_pb.ts";
import { makeClient } from "../../test/support/grpc-client.ts";
import { argMap, MEASURE_END, MEASURE_START, summarize } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const inFlight = Number(a["in-flight"] ?? 8);
const seconds = Number(a.seconds ?? 4);
const warmup = Number(a.warmup ?? 1);

let one: () => Promise<number>;
let close = () => {};
if (a.mode === "grpc") {
  const client = makeClient(Results, a.address!);
  close = () => client.close();
  const fn = (client as unknown as Record<string, (req: unknown) => Promise<{ records?: Array<{ data?: { value: Uint8Array } }>; data?: { value: Uint8Array } }>>)[a.call!]!;
  const req = JSON.parse(a.request!) as Record<string, unknown>;
  one = async () => {
    const res = await fn(req);
    return (res.records ?? [res]).reduce((n, r) => n + (r.data?.value.length ?? 0), 0);
  };
} else {
  const url = a.url!;
  one = async () => {
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${new TextDecoder().decode(body).slice(0, 200)}`);
    return body.byteLength;
  };
}

async function run(forSeconds: number, record: boolean) {
  const lat: number[] = [];
  let bytes = 0;
  const end = performance.now() + forSeconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const n = await one();
      if (record) {
        lat.push(performance.now() - t);
        bytes += n;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { calls: lat.length, seconds: (performance.now() - t0) / 1000, bytes, lat };
}

await run(warmup, false);
process.stderr.write(`${MEASURE_START}\n`);
const r = await run(seconds, true);
process.stderr.write(`${MEASURE_END}\n`);
close();
console.log(JSON.stringify({ calls: r.calls, seconds: r.seconds, bytes: r.bytes, lat: summarize(r.lat) }));
