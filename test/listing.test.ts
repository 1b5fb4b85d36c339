// Listing, ordering and pagination over gRPC: spec §13.3 (the parts that do
// not need CEL) and the page-token rules of §3.5, with our fixes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { nanos, uniqueParent } from "./support/wire.ts";
import type { Record as RecordMsg, Result } from "../src/gen/resources_pb.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

type Req = { parent: string; pageSize?: number; orderBy?: string; filter?: string };

async function allResults(req: Req): Promise<{ items: Result[]; pages: number[]; tokens: string[] }> {
  const items: Result[] = [];
  const pages: number[] = [];
  const tokens: string[] = [];
  let pageToken = "";
  do {
    const res = await s.client.listResults({ ...req, pageToken });
    items.push(...res.results);
    pages.push(res.results.length);
    tokens.push(res.nextPageToken);
    pageToken = res.nextPageToken;
  } while (pageToken);
  return { items, pages, tokens };
}

async function allRecords(req: Req): Promise<RecordMsg[]> {
  const items: RecordMsg[] = [];
  let pageToken = "";
  do {
    const res = await s.client.listRecords({ ...req, pageToken });
    items.push(...res.records);
    pageToken = res.nextPageToken;
  } while (pageToken);
  return items;
}

/** 20 results under one parent, created one after another; some with summaries. */
async function twentyResults(): Promise<{ parent: string; created: Result[] }> {
  const parent = uniqueParent("list");
  const created: Result[] = [];
  for (let i = 0; i < 20; i++) {
    const withSummary = i % 3 !== 0; // every third has no summary: NULL sort keys
    created.push(
      await s.client.createResult({
        parent,
        result: {
          name: `${parent}/results/r${i}`,
          annotations: { foo: `bar-${i}` },
          summary: withSummary
            ? {
                record: `${parent}/results/r${i}/records/x`,
                type: "tekton.dev/v1.PipelineRun",
                // start times run backwards and repeat, end times forwards
                startTime: { seconds: BigInt(1_700_000_000 - (i % 7) * 10), nanos: 0 },
                endTime: { seconds: BigInt(1_700_001_000 + i), nanos: 0 },
              }
            : undefined,
        },
      }),
    );
  }
  return { parent, created };
}

const names = (xs: Array<{ name: string }>) => xs.map((x) => x.name);
const byUid = (xs: Result[]) => [...xs].sort((a, b) => (a.uid < b.uid ? -1 : 1));

describe("ListResults", () => {
  test("default order is uid ascending, which is creation order (#35)", async () => {
    const { parent, created } = await twentyResults();
    const res = await s.client.listResults({ parent });
    expect(names(res.results)).toEqual(names(byUid(created)));
    expect(names(res.results)).toEqual(names(created)); // UUIDv7: uid order = creation order
    expect(res.nextPageToken).toBe("");
  });

  test("parent '-' lists every parent (#36); an unknown parent is an empty list (#37)", async () => {
    const a = uniqueParent();
    const b = uniqueParent();
    await s.client.createResult({ parent: a, result: { name: `${a}/results/x` } });
    await s.client.createResult({ parent: b, result: { name: `${b}/results/x` } });
    const all = await allResults({ parent: "-", pageSize: 1000 });
    expect(names(all.items)).toContain(`${a}/results/x`);
    expect(names(all.items)).toContain(`${b}/results/x`);
    const empty = await s.client.listResults({ parent: "foo-doesnotexist" });
    expect(empty.results).toEqual([]);
    expect(empty.nextPageToken).toBe("");
  });

  test("empty or malformed parent is INVALID_ARGUMENT (#38)", async () => {
    expect((await grpcError(s.client.listResults({ parent: "" }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(s.client.listResults({ parent: "  " }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await grpcError(s.client.listResults({ parent: "Not/Valid" }))).code).toBe(Code.INVALID_ARGUMENT);
  });

  test("page_size rules: -1, 1..4 and 10001 rejected; 0 means 50; 5 and 10000 allowed (#42)", async () => {
    for (const pageSize of [-1, 1, 2, 3, 4, 10001]) {
      const e = await grpcError(s.client.listResults({ parent: "-", pageSize }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("page_size");
    }
    const p = uniqueParent();
    for (let i = 0; i < 55; i++) await s.client.createResult({ parent: p, result: { name: `${p}/results/r${i}` } });
    expect((await s.client.listResults({ parent: p, pageSize: 0 })).results).toHaveLength(50);
    expect((await s.client.listResults({ parent: p, pageSize: 5 })).results).toHaveLength(5);
    expect((await s.client.listResults({ parent: p, pageSize: 10000 })).results).toHaveLength(55);
  });

  test("bad order_by is INVALID_ARGUMENT (#43)", async () => {
    for (const orderBy of ["unknown", "create_time asc foo", "create_time foo", "create_time Asc", "id", "create_time,update_time"]) {
      const e = await grpcError(s.client.listResults({ parent: "-", orderBy }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("order_by");
    }
  });

  test("pagination: 20 results in pages of 5, tokens on pages 1-3 only (#44)", async () => {
    const { parent, created } = await twentyResults();
    const { items, pages, tokens } = await allResults({ parent, pageSize: 5 });
    expect(pages).toEqual([5, 5, 5, 5]);
    expect(tokens.map((t) => t !== "")).toEqual([true, true, true, false]);
    expect(names(items)).toEqual(names(byUid(created)));
  });

  for (const field of ["create_time", "update_time", "summary.start_time", "summary.end_time"] as const) {
    for (const dir of ["asc", "desc", "ASC", "DESC", ""] as const) {
      test(`pagination ordered by ${field} ${dir || "(default asc)"} matches the full sort, NULLs included (#45)`, async () => {
        const { parent, created } = await twentyResults();
        // Touch results in a shuffled order so update_time differs from create_time.
        const updated = new Map<string, Result>();
        for (const i of [7, 3, 19, 0, 12, 5]) {
          const r = created[i]!;
          updated.set(r.name, await s.client.updateResult({ name: r.name, result: { annotations: r.annotations, summary: r.summary } }));
        }
        const current = created.map((r) => updated.get(r.name) ?? r);
        const key = (r: Result): bigint | null => {
          switch (field) {
            case "create_time":
              return nanos(r.createTime);
            case "update_time":
              return nanos(r.updateTime);
            case "summary.start_time":
              return r.summary?.startTime ? nanos(r.summary.startTime) : null;
            case "summary.end_time":
              return r.summary?.endTime ? nanos(r.summary.endTime) : null;
          }
        };
        const desc = dir.toLowerCase() === "desc";
        // SQLite order: NULL first ascending, last descending; ties by uid.
        const expected = [...current].sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          let c = 0;
          if (ka === null && kb !== null) c = -1;
          else if (ka !== null && kb === null) c = 1;
          else if (ka !== null && kb !== null && ka !== kb) c = ka < kb ? -1 : 1;
          else c = a.uid < b.uid ? -1 : 1;
          return desc ? -c : c;
        });
        const { items, pages } = await allResults({ parent, pageSize: 5, orderBy: `${field} ${dir}`.trim() });
        expect(pages).toEqual([5, 5, 5, 5]);
        expect(names(items)).toEqual(names(expected));
      });
    }
  }

  test("a page token must be used with the same parent, filter and order (#47)", async () => {
    const { parent } = await twentyResults();
    const first = await s.client.listResults({ parent, pageSize: 5, orderBy: "create_time desc" });
    const pageToken = first.nextPageToken;
    expect(pageToken).not.toBe("");
    const cases: Array<[Req, string]> = [
      [{ parent: "-", orderBy: "create_time desc" }, "parent"],
      [{ parent, orderBy: "create_time asc" }, "order_by"],
      [{ parent, orderBy: "update_time desc" }, "order_by"],
      [{ parent }, "order_by"], // upstream builds broken SQL here and answers an empty page
      [{ parent, orderBy: "create_time desc", filter: 'uid == "x"' }, "filter"],
    ];
    for (const [req, word] of cases) {
      const e = await grpcError(s.client.listResults({ pageSize: 5, ...req, pageToken }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain(word);
    }
    // The same request with a different page size is fine.
    const next = await s.client.listResults({ parent, pageSize: 10, orderBy: "create_time desc", pageToken });
    expect(next.results).toHaveLength(10);
  });

  test("garbage, edited and foreign tokens are INVALID_ARGUMENT, never INTERNAL (#47)", async () => {
    const { parent } = await twentyResults();
    const { nextPageToken } = await s.client.listResults({ parent, pageSize: 5 });
    const raw = Buffer.from(nextPageToken, "base64url");
    const flipped = Buffer.from(raw);
    flipped[5] = flipped[5]! ^ 0x01;
    const forged = Buffer.from(raw.toString("latin1").replace(parent, parent.replace(/.$/, "x")), "latin1");
    for (const pageToken of [
      "garbage!!",
      "AAAA",
      Buffer.from("hello world").toString("base64url"),
      flipped.toString("base64url"),
      forged.toString("base64url"),
      nextPageToken.slice(0, -2),
      nextPageToken + "A",
    ]) {
      const e = await grpcError(s.client.listResults({ parent, pageSize: 5, pageToken }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("page token");
    }
    // A records token is not a results token, even for a look-alike parent.
    const rec = await s.client.createResult({ parent, result: { name: `${parent}/results/zz` } });
    for (let i = 0; i < 6; i++) await s.client.createRecord({ parent: rec.name, record: { name: `${rec.name}/records/r${i}` } });
    const rt = (await s.client.listRecords({ parent: rec.name, pageSize: 5 })).nextPageToken;
    expect((await grpcError(s.client.listResults({ parent, pageSize: 5, pageToken: rt }))).code).toBe(Code.INVALID_ARGUMENT);
  });

  test("tokens survive a server restart (the signing key is in the database)", async () => {
    const { parent, created } = await twentyResults();
    const first = await s.client.listResults({ parent, pageSize: 5 });
    await s.close({ keep: true });
    s = await startTestServer({ dir: s.dir });
    const rest = await allResults({ parent, pageSize: 5 });
    const second = await s.client.listResults({ parent, pageSize: 5, pageToken: first.nextPageToken });
    expect(names(second.results)).toEqual(names(created.slice(5, 10)));
    expect(rest.items).toHaveLength(20);
  });

  test("pages stay consistent while results are inserted between pages (keyset, not offset)", async () => {
    const { parent, created } = await twentyResults();
    const p1 = await s.client.listResults({ parent, pageSize: 5, orderBy: "create_time desc" });
    for (let i = 0; i < 3; i++) await s.client.createResult({ parent, result: { name: `${parent}/results/new${i}` } });
    const p2 = await s.client.listResults({ parent, pageSize: 5, orderBy: "create_time desc", pageToken: p1.nextPageToken });
    const newestFirst = [...created].reverse();
    expect(names(p1.results)).toEqual(names(newestFirst.slice(0, 5)));
    expect(names(p2.results)).toEqual(names(newestFirst.slice(5, 10)));
  });

  test("filters select results; bad filters are INVALID_ARGUMENT naming the position (#39-#41)", async () => {
    const { parent, created } = await twentyResults();
    const one = await s.client.listResults({ parent, filter: `uid == "${created[3]!.uid}"` });
    expect(names(one.results)).toEqual([created[3]!.name]);
    const two = await s.client.listResults({ parent, filter: `uid == "${created[1]!.uid}" || uid == "${created[10]!.uid}"` });
    expect(names(two.results)).toEqual([created[1]!.name, created[10]!.name]);
    const ends = await s.client.listResults({ parent, filter: 'annotations["foo"].endsWith("-1")' });
    expect(names(ends.results)).toEqual([created[1]!.name]);
    for (const filter of ["id", 'unknown_field == "foo"', "parent", "uid ==", 'uid == 1']) {
      const e = await grpcError(s.client.listResults({ parent, filter }));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain("filter");
    }
    expect((await grpcError(s.client.listResults({ parent, filter: "uid ==" }))).details).toMatch(/column \d+/);
  });

  test("pagination with a filter yields the filtered sequence across pages (#46)", async () => {
    const { parent, created } = await twentyResults();
    const filter = 'annotations["foo"] != "bar-1" && annotations["foo"] != "bar-2"';
    const { items } = await allResults({ parent, pageSize: 5, filter, orderBy: "create_time desc" });
    expect(names(items)).toEqual(names([...created].reverse().filter((r) => !["bar-1", "bar-2"].includes(r.annotations.foo!))));
  });

  test("summary filters: status, type, annotations (#57, #58)", async () => {
    const { parent, created } = await twentyResults();
    const withSummary = created.filter((r) => r.summary);
    expect((await s.client.listResults({ parent, filter: "summary.type == PIPELINE_RUN" })).results).toHaveLength(withSummary.length);
    expect((await s.client.listResults({ parent, filter: "summary.status == UNKNOWN" })).results).toHaveLength(20);
    expect((await s.client.listResults({ parent, filter: "summary.status != SUCCESS" })).results).toHaveLength(20);
    expect((await s.client.listResults({ parent, filter: "summary.status == CANCELLED || summary.status == TIMEOUT" })).results).toHaveLength(0);
    expect((await s.client.listResults({ parent, filter: 'summary.annotations["branch"] == "main"' })).results).toHaveLength(0);
    expect((await s.client.listResults({ parent, filter: '!(summary.annotations["branch"] == "main")' })).results).toHaveLength(20);
  });

  test("timestamp filters accept upstream's literal form on both sides (#59)", async () => {
    const { parent } = await twentyResults();
    for (const filter of ['create_time > timestamp("2022/10/30T21:45:00.000Z")', 'timestamp("2022/10/30T21:45:00.000Z") < create_time']) {
      expect((await s.client.listResults({ parent, filter })).results).toHaveLength(20);
    }
    expect((await s.client.listResults({ parent, filter: 'create_time < timestamp("2022-10-30T21:45:00Z")' })).results).toHaveLength(0);
  });
});

describe("ListRecords", () => {
  async function recordsTree() {
    const p = uniqueParent("rec");
    const q = uniqueParent("rec");
    const made: RecordMsg[] = [];
    for (const parent of [p, q]) {
      for (const r of ["a", "b"]) {
        const res = await s.client.createResult({ parent, result: { name: `${parent}/results/${r}` } });
        for (let i = 0; i < 10; i++) {
          made.push(await s.client.createRecord({ parent: res.name, record: { name: `${res.name}/records/${i}` } }));
        }
      }
    }
    return { p, q, made };
  }

  test("lists one result's records in uid order (#48)", async () => {
    const { p, made } = await recordsTree();
    const got = await s.client.listRecords({ parent: `${p}/results/a` });
    expect(names(got.records)).toEqual(names(made.filter((r) => r.name.startsWith(`${p}/results/a/`))));
  });

  test("'-' wildcards: <p>/results/-, -/results/-, -/results/<r> (#49)", async () => {
    const { p, q, made } = await recordsTree();
    expect(names(await allRecords({ parent: `${p}/results/-` }))).toEqual(
      names(made.filter((r) => r.name.startsWith(`${p}/`))),
    );
    const everything = names(await allRecords({ parent: "-/results/-", pageSize: 1000 }));
    for (const r of made) expect(everything).toContain(r.name);
    const bs = names(await allRecords({ parent: "-/results/b", pageSize: 1000 }));
    expect(bs).toContain(`${p}/results/b/records/0`);
    expect(bs).toContain(`${q}/results/b/records/9`);
    expect(bs.every((n) => n.includes("/results/b/"))).toBe(true);
  });

  test("a missing result lists empty; a malformed parent is INVALID_ARGUMENT (#53)", async () => {
    const p = uniqueParent();
    expect((await s.client.listRecords({ parent: `${p}/results/none` })).records).toEqual([]);
    for (const parent of ["unknown", "", "a/results", "a/b/c"]) {
      expect((await grpcError(s.client.listRecords({ parent }))).code).toBe(Code.INVALID_ARGUMENT);
    }
  });

  test("order_by accepts only create_time and update_time (#54)", async () => {
    for (const orderBy of ["created_time desc asc", "created_time foo", "created_time", "summary.start_time"]) {
      expect((await grpcError(s.client.listRecords({ parent: "-/results/-", orderBy }))).code).toBe(Code.INVALID_ARGUMENT);
    }
  });

  test("pagination over 20 records in every order (#55)", async () => {
    const { p, made } = await recordsTree();
    const parent = `${p}/results/-`;
    const mine = made.filter((r) => r.name.startsWith(`${p}/`));
    // Update some records so update_time order differs.
    const updated = new Map<string, RecordMsg>();
    for (const i of [13, 2, 17, 8]) updated.set(mine[i]!.name, await s.client.updateRecord({ record: { name: mine[i]!.name } }));
    const current = mine.map((r) => updated.get(r.name) ?? r);
    const sortBy = (k: (r: RecordMsg) => bigint, desc: boolean) =>
      [...current].sort((a, b) => {
        const c = k(a) === k(b) ? (a.uid < b.uid ? -1 : 1) : k(a) < k(b) ? -1 : 1;
        return desc ? -c : c;
      });
    expect(names(await allRecords({ parent, pageSize: 5 }))).toEqual(names(mine));
    for (const desc of [false, true]) {
      const d = desc ? "desc" : "asc";
      expect(names(await allRecords({ parent, pageSize: 5, orderBy: `create_time ${d}` }))).toEqual(
        names(sortBy((r) => nanos(r.createTime), desc)),
      );
      expect(names(await allRecords({ parent, pageSize: 5, orderBy: `update_time ${d}` }))).toEqual(
        names(sortBy((r) => nanos(r.updateTime), desc)),
      );
    }
  });

  test("order by the run's own start and completion time, runs without them included (extension)", async () => {
    const p = uniqueParent("rec");
    const res = await s.client.createResult({ parent: p, result: { name: `${p}/results/r` } });
    const made: Array<{ name: string; uid: string; start: number | null; end: number | null }> = [];
    for (let i = 0; i < 23; i++) {
      const start = i % 4 === 0 ? null : Date.UTC(2024, 0, 1, 10, (i * 7) % 13); // repeats and gaps
      const end = i % 5 === 0 ? null : Date.UTC(2024, 0, 1, 12, (i * 11) % 17);
      const status: Record<string, string> = {};
      if (start !== null) status.startTime = new Date(start).toISOString().replace(".000Z", "Z");
      if (end !== null) status.completionTime = new Date(end).toISOString().replace(".000Z", "Z");
      const r = await s.client.createRecord({
        parent: res.name,
        record: { name: `${res.name}/records/r${i}`, data: { type: "tekton.dev/v1.TaskRun", value: new TextEncoder().encode(JSON.stringify({ status })) } },
      });
      made.push({ name: r.name, uid: r.uid, start, end });
    }
    for (const [field, key] of [["data.status.startTime", "start"], ["data.status.completionTime", "end"]] as const) {
      for (const desc of [false, true]) {
        const expected = [...made].sort((a, b) => {
          const ka = a[key];
          const kb = b[key];
          let c: number;
          if (ka === null && kb !== null) c = -1;
          else if (ka !== null && kb === null) c = 1;
          else if (ka !== null && kb !== null && ka !== kb) c = ka < kb ? -1 : 1;
          else c = a.uid < b.uid ? -1 : 1;
          return desc ? -c : c;
        });
        const got = await allRecords({ parent: res.name, pageSize: 5, orderBy: `${field} ${desc ? "desc" : "asc"}` });
        expect(names(got)).toEqual(names(expected));
      }
    }
  });
});
