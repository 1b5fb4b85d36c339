/**
 * ListRecords client (its own process), one call in flight, page_size 50.
 *
 * First pages: for each parent ("-/results/-", "<ns>/results/-",
 * "<ns>/results/<r>") and order (default uid order, "create_time desc"),
 * `--repeat` calls of page 1 each, round-robin over the six.
 * Deep pages: for "-/results/-" and "<ns>/results/-" in both orders, walk
 * with next_page_token to page 1000 (or the last page), keeping the tokens of
 * pages 1, 100 and 1000; then call each of those pages `--repeat` times
 * again, round-robin (page tokens are stateless, so re-using one is a valid
 * request).
 *
 *   bun scripts/bench/list-client.ts --address 127.0.0.1:PORT --ns NS --result R [--repeat 100] [--depth 1000]
 */
import { Results } from "../../src/gen/api_pb.ts";
import { makeClient } from "../../test/support/grpc-client.ts";
import { argMap, progress, summarize, type Lat } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const client = makeClient(Results, a.address!);
const REPEAT = Number(a.repeat ?? 100);
const DEPTH = Number(a.depth ?? 1000);
const PAGE = 50;
const ORDERS = ["", "create_time desc"];

async function page(parent: string, orderBy: string, pageToken: string) {
  const s = performance.now();
  const r = await client.listRecords({ parent, pageSize: PAGE, orderBy, pageToken, filter: "" });
  const ms = performance.now() - s;
  let bytes = 0;
  for (const rec of r.records) bytes += rec.data?.value.length ?? 0;
  return { ms, n: r.records.length, bytes, next: r.nextPageToken };
}

type PageLat = Lat & { items: number; bytes: number };

/**
 * Calls each of `queries` `REPEAT` times, round-robin (so a slow spell of the
 * shared machine hits every query alike), after 10 unmeasured rounds.
 */
async function measure(queries: Array<{ parent: string; orderBy: string; token: string }>): Promise<PageLat[]> {
  const lat = queries.map(() => [] as number[]);
  const last = queries.map(() => ({ items: 0, bytes: 0 }));
  for (let round = -10; round < REPEAT; round++) {
    for (let q = 0; q < queries.length; q++) {
      const { parent, orderBy, token } = queries[q]!;
      const p = await page(parent, orderBy, token);
      if (round < 0) continue;
      lat[q]!.push(p.ms);
      last[q] = { items: p.n, bytes: p.bytes };
    }
  }
  return lat.map((l, q) => ({ ...summarize(l), ...last[q]! }));
}

const ns = a.ns!;
const parents = ["-/results/-", `${ns}/results/-`, `${ns}/results/${a.result}`];
const firstQueries = parents.flatMap((parent) => ORDERS.map((orderBy) => ({ parent, orderBy, token: "" })));
// A fresh server needs ~800 page calls before Bun's JIT settles (p50 falls from ~13 ms to ~5 ms):
// measure the steady state, after 1,200 warm-up calls on the first pages.
const coldLat: number[] = [];
for (let i = 0; i < 200; i++) {
  for (const q of firstQueries) {
    const p = await page(q.parent, q.orderBy, "");
    if (i < 10) coldLat.push(p.ms);
  }
}
const firstLat = await measure(firstQueries);
const first = firstQueries.map((q, i) => ({ parent: q.parent, orderBy: q.orderBy, lat: firstLat[i]! }));
for (const f of first) progress(`list: first page of ${f.parent} ${f.orderBy || "(uid order)"}: p50 ${f.lat.p50.toFixed(2)} ms`);

const deep: Array<{ parent: string; orderBy: string; walkSeconds: number; pagesWalked: number; walkP50: number; pages: Array<{ page: number; lat: Lat }> }> = [];
for (const parent of parents.slice(0, 2)) {
  for (const orderBy of ORDERS) {
    const tokens = new Map<number, string>([[1, ""]]);
    const walkLat: number[] = [];
    let token = "";
    let n = 0;
    const t0 = performance.now();
    for (n = 1; n <= DEPTH; n++) {
      const p = await page(parent, orderBy, token);
      walkLat.push(p.ms);
      if (!p.next || n === DEPTH) break;
      token = p.next;
      if (n + 1 === 100 || n + 1 === DEPTH) tokens.set(n + 1, token);
    }
    // A list shorter than DEPTH pages: its last page stands in for the deepest.
    if (!tokens.has(DEPTH) && n > 1) tokens.set(n, token);
    const walkSeconds = (performance.now() - t0) / 1000;
    const sorted = [...tokens.entries()].sort((x, y) => x[0] - y[0]);
    const lats = await measure(sorted.map(([, token]) => ({ parent, orderBy, token })));
    const pages = sorted.map(([pg], i) => ({ page: pg, lat: lats[i] as Lat }));
    deep.push({ parent, orderBy, walkSeconds, pagesWalked: n, walkP50: summarize(walkLat).p50, pages });
    progress(`list: walked ${n} pages of ${parent} ${orderBy || "(uid order)"} in ${walkSeconds.toFixed(1)} s; ` + pages.map((p) => `page ${p.page} p50 ${p.lat.p50.toFixed(2)} ms`).join(", "));
  }
}
client.close();
console.log(JSON.stringify({ first, deep, cold: summarize(coldLat) }));
