/**
 * Filter and summary client (its own process) for filters.ts, against a
 * server holding the 1M-record bench database, over gRPC.
 *
 * 1. Page-of-50 ListRecords for each query kind of issue 3, `--repeat`
 *    calls each, round-robin, one in flight, after 5 unmeasured rounds.
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
const REPEAT = Number(a.repeat ?? 100);
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
  queries: Array<FilterQuery & { lat: Lat; items: number }>;
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

async function list(q: FilterQuery) {
  const t = performance.now();
  const r = await client.listRecords({ parent: PARENT, pageSize: 50, filter: q.filter, orderBy: q.orderBy });
  return { ms: performance.now() - t, n: r.records.length };
}

progress(`filters: label value ${repo}, name prefix ${namePrefix}`);
const lat = queries.map(() => [] as number[]);
const items = queries.map(() => 0);
for (let round = -5; round < REPEAT; round++) {
  for (let i = 0; i < queries.length; i++) {
    const r = await list(queries[i]!);
    if (round < 0) continue;
    lat[i]!.push(r.ms);
    items[i] = r.n;
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
  queries: queries.map((q, i) => ({ ...q, lat: summarize(lat[i]!), items: items[i]! })),
  summary: { filter: SUMMARY.filter, groupBy: SUMMARY.groupBy, lat: summarize(sLat), groups, total },
  scan: { filter: SCAN.filter, seconds: scanSeconds, recordsPerSec: RECORDS / bestScan },
  concurrent: { filter: INDEXED.filter, lat: summarize(during), scansDuring: scansDone },
};
client.close();
console.log(JSON.stringify(out));
