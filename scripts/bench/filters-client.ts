/**
 * Filter and summary client (its own process) for filters.ts, against a
 * server holding the 1M-record bench database, over gRPC.
 *
 * 1. Page-of-50 ListRecords for each query kind of issue 3, `--repeat`
 *    calls each, round-robin, one in flight, after `--warmup-rounds` (30)
 *    unmeasured rounds; the first 5 of them are reported as the cold figure.
 * 2. GetRecordListSummary by day over 30 days, `--summary-repeat` calls.
 * 3. Full scans: an unindexed filter that matches nothing, so the whole
 *    table is read; records/s = stored records / seconds.
 * 4. The same full scan in a loop while a second chain of calls runs the
 *    indexed query: that chain's latency while a scan is in progress.
 *
 * Filter values come from the data: a sample record of the busiest
 * namespace gives the label value and the name prefix.
 *
 *   bun scripts/bench/filters-client.ts --address 127.0.0.1:PORT --ns NS --records N [--repeat 100]
 */
import { Results } from "../../src/gen/api_pb.ts";
import { makeClient } from "../../test/support/grpc-client.ts";
import { argMap, progress, summarize, type Lat } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const client = makeClient(Results, a.address!, { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
/**
 * A client with a receive window the size of a few pages. grpc-js keeps
 * HTTP/2's 64 KiB windows, so a 0.6-1.2 MB page crosses in 10-20 window
 * round trips whatever the server does (the echo ceiling shows the same);
 * grpc-go, which tkn-results and most generated clients use, grows its
 * windows from the measured bandwidth-delay product up to 16 MiB. The page
 * latencies are measured with both: this one stands for those clients.
 */
export const WIDE_WINDOW = 4 * 1024 * 1024;
const wide = makeClient(Results, a.address!, { "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc-node.flow_control_window": WIDE_WINDOW });
const REPEAT = Number(a.repeat ?? 100);
/** Rounds before measuring: the server's and this client's JIT settle after a few hundred calls (as in the list benchmark). */
const WARMUP_ROUNDS = Number(a["warmup-rounds"] ?? 30);
/** The first rounds of the warm-up, reported as the cold figure. */
const COLD_ROUNDS = 5;
const SUMMARY_REPEAT = Number(a["summary-repeat"] ?? 10);
const SCANS = Number(a.scans ?? 3);
const RECORDS = Number(a.records);
const PARENT = "-/results/-";

export interface FilterQuery {
  name: string;
  filter: string;
  orderBy: string;
}
export interface FiltersOut {
  /** `lat`: the client with a 4 MiB window (WIDE_WINDOW); `latDefault`: grpc-js's default 64 KiB windows. */
  queries: Array<FilterQuery & { lat: Lat; latDefault: Lat; items: number; pageBytes: number }>;
  /** Calls before the measured rounds, and the latency of the first COLD_ROUNDS rounds of them (all queries). */
  warmupCalls: number;
  cold: Lat;
  summary: { filter: string; groupBy: string; lat: Lat; groups: number; total: number };
  scan: { filter: string; seconds: number[]; recordsPerSec: number };
  concurrent: { filter: string; lat: Lat; scansDuring: number };
}

async function sample(): Promise<Record<string, unknown>> {
  const r = await client.listRecords({ parent: `${a.ns}/results/-`, pageSize: 50, filter: 'data_type.endsWith("TaskRun") && "pipelinesascode.tekton.dev/repository" in data.metadata.labels' });
  const rec = r.records.at(-1);
  if (!rec?.data) throw new Error("no sample record with a Pipelines-as-Code repository label");
  return JSON.parse(new TextDecoder().decode(rec.data.value)) as Record<string, unknown>;
}

const doc = await sample();
const meta = doc.metadata as { name: string; labels: Record<string, string> };
const repo = meta.labels["pipelinesascode.tekton.dev/repository"]!;
const namePrefix = meta.name.slice(0, Math.max(4, meta.name.indexOf("-") + 1));
const lit = JSON.stringify;

const INDEXED: FilterQuery = { name: "indexed equality", filter: 'data.status.conditions[0].reason == "Failed"', orderBy: "" };
const queries: FilterQuery[] = [
  INDEXED,
  { name: "indexed equality, two fields", filter: `data.metadata.namespace == ${lit(a.ns)} && data_type == "tekton.dev/v1.TaskRun"`, orderBy: "" },
  { name: "label equality", filter: `data.metadata.labels["pipelinesascode.tekton.dev/repository"] == ${lit(repo)}`, orderBy: "" },
  { name: "annotation equality", filter: `data.metadata.annotations["chains.tekton.dev/signed"] == "true"`, orderBy: "" },
  { name: "name prefix", filter: `data.metadata.name.startsWith(${lit(namePrefix)})`, orderBy: "" },
  {
    name: "time range, by completion time",
    filter: 'data.status.completionTime > timestamp("2024-12-01T00:00:00Z")',
    orderBy: "data.status.completionTime desc",
  },
  {
    name: "has() + exists, unindexed fields",
    filter: 'has(data.spec.serviceAccountName) && data.status.conditions.exists(c, c.type == "Succeeded" && c.status == "False")',
    orderBy: "",
  },
];

async function list(q: FilterQuery, via = client) {
  const t = performance.now();
  const r = await via.listRecords({ parent: PARENT, pageSize: 50, filter: q.filter, orderBy: q.orderBy });
  return { ms: performance.now() - t, n: r.records.length, bytes: r.records.reduce((n, x) => n + (x.data?.value.byteLength ?? 0), 0) };
}

progress(`filters: label value ${repo}, name prefix ${namePrefix}`);
const lat = queries.map(() => [] as number[]);
const latDefault = queries.map(() => [] as number[]);
const items = queries.map(() => 0);
const pageBytes = queries.map(() => 0);
const cold: number[] = [];
for (let round = -WARMUP_ROUNDS; round < REPEAT; round++) {
  for (let i = 0; i < queries.length; i++) {
    // The same query through both clients, back to back, so both see the same
    // machine; which goes first alternates, since the second may find the page
    // the first just built in the server's cache.
    const wideFirst = round % 2 === 0;
    const first = await list(queries[i]!, wideFirst ? wide : client);
    const second = await list(queries[i]!, wideFirst ? client : wide);
    const [r, d] = wideFirst ? [first, second] : [second, first];
    if (round < 0) {
      if (round < -WARMUP_ROUNDS + COLD_ROUNDS) cold.push(r.ms);
      continue;
    }
    lat[i]!.push(r.ms);
    latDefault[i]!.push(d.ms);
    items[i] = r.n;
    pageBytes[i] = r.bytes;
  }
  if (round >= 0 && (round + 1) % 25 === 0) progress(`filters: ${round + 1}/${REPEAT} rounds`);
}

const SUMMARY = {
  parent: PARENT,
  summary: "total,succeeded,failed,cancelled,running,others,avg_duration,max_duration,last_runtime",
  filter: 'data.status.startTime >= timestamp("2024-06-01T00:00:00Z") && data.status.startTime < timestamp("2024-07-01T00:00:00Z")',
  groupBy: "day startTime",
  orderBy: "",
};
const sLat: number[] = [];
let groups = 0;
let total = 0;
for (let i = -1; i < SUMMARY_REPEAT; i++) {
  const t = performance.now();
  const r = await client.getRecordListSummary(SUMMARY);
  const ms = performance.now() - t;
  if (i < 0) continue;
  sLat.push(ms);
  const rows = (r.summary as Array<Record<string, unknown>>) ?? [];
  groups = rows.length;
  total = rows.reduce((s, g) => s + Number(g.total ?? 0), 0);
}
progress(`filters: summary by day p50 ${summarize(sLat).p50.toFixed(1)} ms, ${groups} groups, ${total} records`);

const SCAN: FilterQuery = {
  name: "full scan",
  filter: 'has(data.status.podName) && data.status.conditions.exists(c, c.reason == "NoSuchReason")',
  orderBy: "",
};
const scanSeconds: number[] = [];
for (let i = 0; i < SCANS; i++) {
  const r = await list(SCAN);
  if (r.n !== 0) throw new Error(`the full-scan filter matched ${r.n} records`);
  scanSeconds.push(r.ms / 1000);
  progress(`filters: full scan ${i + 1}/${SCANS}: ${(r.ms / 1000).toFixed(2)} s`);
}
const bestScan = Math.min(...scanSeconds);

// Concurrency: scans back to back in one chain; the indexed query in another.
let scanning = true;
let scansDone = 0;
const scanLoop = (async () => {
  while (scanning) {
    await list(SCAN);
    scansDone++;
  }
})();
await Bun.sleep(200);
const during: number[] = [];
const until = performance.now() + Number(a["concurrent-seconds"] ?? Math.max(10, bestScan * 3) * 1000);
while (performance.now() < until) during.push((await list(INDEXED)).ms);
scanning = false;
await scanLoop;
progress(`filters: indexed query during scans p50 ${summarize(during).p50.toFixed(2)} ms, p99 ${summarize(during).p99.toFixed(1)} ms`);

const out: FiltersOut = {
  queries: queries.map((q, i) => ({ ...q, lat: summarize(lat[i]!), latDefault: summarize(latDefault[i]!), items: items[i]!, pageBytes: pageBytes[i]! })),
  warmupCalls: WARMUP_ROUNDS * queries.length,
  cold: summarize(cold),
  summary: { filter: SUMMARY.filter, groupBy: SUMMARY.groupBy, lat: summarize(sLat), groups, total },
  scan: { filter: SCAN.filter, seconds: scanSeconds, recordsPerSec: RECORDS / bestScan },
  concurrent: { filter: INDEXED.filter, lat: summarize(during), scansDuring: scansDone },
};
client.close();
wide.close();
console.log(JSON.stringify(out));
