/**
 * Ingest load client (its own process): per simulated run CreateResult,
 * CreateRecord (the run's first state as data.value) and 3 UpdateRecord with
 * the later states, 32 runs in flight, against a running Hindsight.
 *
 *   bun scripts/bench/ingest-client.ts --address 127.0.0.1:PORT --runs 8000 --warmup 200 --pool 1000 --max-seconds 90
 *
 * `--in-flight`, `--connections` and `--window` vary the load and transport
 * (lib.ts, transportOptions); the recorded benchmark keeps their defaults.
 *
 * Prints progress on stderr and one JSON line (LoadResult + latency summaries) on stdout.
 */
import { Results } from "../../src/gen/api_pb.ts";
import { makeClient } from "../../test/support/grpc-client.ts";
import { drive } from "./load.ts";
import { argMap, buildRunPool, IN_FLIGHT, ingestCall, progress, summarize, transportOptions } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const address = a.address!;
const runs = Number(a.runs ?? 8000);
const warmup = Number(a.warmup ?? 200);
const inFlight = Number(a["in-flight"] ?? IN_FLIGHT);
const pool = buildRunPool(Number(a.seed ?? 1), Number(a.pool ?? 1000));
const transport = transportOptions(a);
const clients = Array.from({ length: transport.connections }, () => makeClient(Results, address, transport.channel));

const result = await drive({
  runs,
  warmup,
  inFlight,
  maxSeconds: Number(a["max-seconds"] ?? 90),
  onProgress: (n, s) => progress(`ingest: ${n} runs in ${s.toFixed(0)} s (${((n * 5) / s).toFixed(0)} writes/s)`),
  call: (i, k) => {
    const client = clients[i % clients.length]!;
    const c = ingestCall(pool, i, k);
    const data = { type: c.type, value: c.value };
    if (c.kind === "createResult") return client.createResult({ parent: c.namespace, result: { name: c.resultName } });
    if (c.kind === "createRecord") return client.createRecord({ parent: c.resultName, record: { name: c.recordName, data } });
    return client.updateRecord({ record: { name: c.recordName, data }, etag: "" });
  },
});
for (const c of clients) c.close();
const summary = Object.fromEntries(Object.entries(result.lat).map(([k, v]) => [k, summarize(v)]));
const all = summarize(Object.values(result.lat).flat());
console.log(JSON.stringify({ runs: result.runs, calls: result.calls, errors: result.errors, firstError: result.firstError, seconds: result.seconds, summary, all }));
