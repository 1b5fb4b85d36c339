/**
 * Cost of auth and TLS on the hot path: ListRecords (page of 50 records of
 * 11-13 KB) and CreateRecord over gRPC against three real servers started
 * side by side — `--auth-mode none`, `--auth-mode token`, and token with TLS
 * — in rounds that alternate them, so all three see the same machine; the
 * best round of each is reported. Goal (issue 8): token auth loses ≤ 10% of
 * the throughput of `none`; TLS overhead is reported.
 *
 * Knobs: BENCH_AUTH_SECONDS (4), BENCH_AUTH_ROUNDS (3), BENCH_AUTH_IN_FLIGHT (8).
 */
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Results } from "../../src/gen/api_pb.ts";
import { closeDatabase, openDatabase } from "../../src/store/db.ts";
import { TokenStore } from "../../src/store/tokens.ts";
import { Authorizer } from "../../src/core/auth.ts";
import { makeTestPki } from "../../test/support/certs.ts";
import { makeClient, type Client } from "../../test/support/grpc-client.ts";
import { buildRunPool, fmtInt, progress, startServer, type BenchReport, type Goal, type ServerProc, type Table } from "./lib.ts";

const SECONDS = Number(process.env.BENCH_AUTH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 3);
const IN_FLIGHT = Number(process.env.BENCH_AUTH_IN_FLIGHT ?? 8);
const RECORDS = 200;
const GOAL_LOSS = 0.1;

type Mode = "none" | "token" | "token+tls";
const MODES: Mode[] = ["none", "token", "token+tls"];

interface Target {
  mode: Mode;
  server: ServerProc;
  client: Client<typeof Results>;
  md: grpc.Metadata;
}

async function start(mode: Mode, dir: string): Promise<Target> {
  const db = join(dir, `${mode}.db`);
  const md = new grpc.Metadata();
  const serveArgs = ["--auth-mode", mode === "none" ? "none" : "token"];
  if (mode !== "none") {
    // The token is made the way an operator makes it: in the database, before the start.
    const conn = openDatabase(db);
    md.set("authorization", `Bearer ${new TokenStore(conn).create("bench", "admin", null)}`);
    closeDatabase(conn);
  }
  let creds = grpc.credentials.createInsecure();
  let host = "127.0.0.1";
  if (mode === "token+tls") {
    const pki = makeTestPki({ caName: "bench-ca" });
    writeFileSync(join(dir, "tls.crt"), pki.server.cert);
    writeFileSync(join(dir, "tls.key"), pki.server.key);
    serveArgs.push("--tls-cert", join(dir, "tls.crt"), "--tls-key", join(dir, "tls.key"));
    creds = grpc.credentials.createSsl(Buffer.from(pki.ca.cert));
    host = "localhost";
  }
  const server = await startServer(db, [], { serveArgs });
  const port = server.address.split(":")[1];
  return { mode, server, client: makeClient(Results, `${host}:${port}`, {}, creds), md };
}

const pool = buildRunPool(8, RECORDS);

async function seed(t: Target): Promise<void> {
  await t.client.createResult({ parent: "bench", result: { name: "bench/results/list" } }, { metadata: t.md });
  await t.client.createResult({ parent: "bench", result: { name: "bench/results/create" } }, { metadata: t.md });
  for (let i = 0; i < RECORDS; i++) {
    const r = pool[i]!;
    await t.client.createRecord(
      { parent: "bench/results/list", record: { name: `bench/results/list/records/r${i}`, data: { type: r.type, value: r.stages.at(-1)! } } },
      { metadata: t.md },
    );
  }
}

let created = 0;
/** Calls per second of `op` with IN_FLIGHT calls in flight for SECONDS. */
async function measure(t: Target, op: "list" | "create"): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let calls = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if (op === "list") await t.client.listRecords({ parent: "bench/results/list", pageSize: 50 }, { metadata: t.md });
      else {
        const r = pool[created % RECORDS]!;
        const n = created++;
        await t.client.createRecord(
          { parent: "bench/results/create", record: { name: `bench/results/create/records/c${n}`, data: { type: r.type, value: r.stages[0]! } } },
          { metadata: t.md },
        );
      }
      calls++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return calls / ((performance.now() - t0) / 1000);
}

/**
 * The check itself, in process, without the transport's noise: microseconds
 * per authenticate + permit of one token (cached identity, as on the hot path).
 */
function checkCostMicros(dir: string): number {
  const conn = openDatabase(join(dir, "check.db"));
  try {
    const tokens = new TokenStore(conn);
    const header = `Bearer ${tokens.create("bench", "writer", ["team-*", "bench"])}`;
    const authz = new Authorizer(tokens);
    const access = { action: "read" as const, parent: "bench", list: false, rbac: [{ resource: "results" as const, verb: "get" as const }] };
    const n = 200_000;
    for (let i = 0; i < 10_000; i++) authz.permit(tokens.authenticate(header), access);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) authz.permit(tokens.authenticate(header), access);
    return ((performance.now() - t0) * 1000) / n;
  } finally {
    closeDatabase(conn);
  }
}

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), "hindsight-bench-auth-"));
  const targets: Target[] = [];
  try {
    for (const m of MODES) targets.push(await start(m, dir));
    for (const t of targets) await seed(t);
    const best: Record<string, Record<Mode, number[]>> = { list: { none: [], token: [], "token+tls": [] }, create: { none: [], token: [], "token+tls": [] } };
    for (const op of ["list", "create"] as const) {
      for (const t of targets) await measure(t, op); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        for (const t of targets) {
          const rate = await measure(t, op);
          best[op]![t.mode].push(rate);
          progress(`${op} ${t.mode} round ${r + 1}: ${fmtInt(rate)} calls/s`);
        }
      }
    }
    const top = (op: string, m: Mode) => Math.max(...best[op]![m]);
    const rows = (["list", "create"] as const).flatMap((op) =>
      MODES.map((m) => [
        op === "list" ? "ListRecords (page of 50)" : "CreateRecord",
        m,
        best[op]![m].map(fmtInt).join(", "),
        fmtInt(top(op, m)),
        `${((top(op, m) / top(op, "none")) * 100).toFixed(0)}%`,
      ]),
    );
    const micros = checkCostMicros(dir);
    const figures: Record<string, number> = { check_micros: micros };
    for (const op of ["list", "create"]) for (const m of MODES) figures[`${op}_${m}`] = top(op, m);
    const goals: Goal[] = (["list", "create"] as const).map((op) => {
      const loss = 1 - top(op, "token") / top(op, "none");
      return {
        goal: `${op === "list" ? "ListRecords" : "CreateRecord"} with token auth loses ≤ ${GOAL_LOSS * 100}% of the throughput of auth mode none`,
        measured: `${fmtInt(top(op, "token"))} vs ${fmtInt(top(op, "none"))} calls/s: ${(loss * 100).toFixed(1)}% ${loss >= 0 ? "loss" : "gain (noise)"}; with TLS ${fmtInt(top(op, "token+tls"))}`,
        met: loss <= GOAL_LOSS,
      };
    });
    const tables: Table[] = [
      {
        title: `Auth and TLS on the hot path: gRPC, ${IN_FLIGHT} calls in flight, ${SECONDS} s per run, ${ROUNDS} alternating rounds`,
        headers: ["call", "server", "calls/s each round", "calls/s best", "of none"],
        rows,
        note:
          "Three servers run side by side on the same 2 cores as the client (one process); rounds alternate them. " +
          `token: every call carries 'authorization: Bearer ...' and is checked (identity cache of 1 s); token+tls adds TLS on the same channel (the handshake once per connection). ${RECORDS} records of 11-13 KB listed, records of the same sizes created. ` +
          `The check alone (authenticate + permit, in process) costs ${micros.toFixed(2)} µs per call.`,
      },
    ];
    return { name: "auth", tables, goals, figures };
  } finally {
    for (const t of targets) {
      t.client.close();
      await t.server.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
