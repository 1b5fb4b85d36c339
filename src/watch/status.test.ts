import { expect, test } from "bun:test";
import { ago, clusterViews, formatStatus, type StatusRow } from "./status.ts";

const NOW = 1_800_000_000_000;
const row = (cluster: string, stream: string, over: Partial<StatusRow> = {}): StatusRow => ({
  cluster,
  stream,
  resourceVersion: "100",
  listContinue: null,
  state: "watching",
  lastEventAt: NOW - 3000,
  lastStoredAt: NOW - 3000,
  lagMs: 0,
  events: 10,
  writes: 5,
  errors: 0,
  lastError: null,
  lastErrorAt: null,
  updatedAt: NOW - 500,
  ...over,
});

test("a healthy cluster, one reconnecting, one unreachable, one whose server stopped, one gone quiet", () => {
  const rows = [
    row("prod", "*", { state: "running", lastEventAt: NOW - 3000 }),
    row("prod", "taskruns", { events: 1200, writes: 1100 }),
    row("prod", "pipelineruns"),
    row("prod", "customruns", { lastEventAt: null, events: 0, writes: 0 }),
    row("staging", "*", { state: "degraded" }),
    row("staging", "taskruns", { state: "backoff", errors: 3, lastError: 'cluster "staging" (https://x): connection refused', lastErrorAt: NOW - 2000, lagMs: 1500 }),
    row("staging", "pipelineruns"),
    row("edge", "*", { state: "unreachable", errors: 7, lastError: 'cluster "edge" (https://y): TLS: bad CA', lastErrorAt: NOW - 1000 }),
    row("old", "taskruns", { state: "stopped", updatedAt: NOW - 3_600_000 }),
    row("dead", "taskruns", { updatedAt: NOW - 120_000 }),
  ];
  const v = Object.fromEntries(clusterViews(rows, NOW).map((c) => [c.name, c]));
  expect(v.prod).toMatchObject({ state: "watching", connected: true, events: 1210, writes: 1105, lagMs: 0 });
  expect(v.staging).toMatchObject({ state: "reconnecting", connected: false, errors: 3, lagMs: 1500 });
  expect(v.edge).toMatchObject({ state: "unreachable", connected: false, errors: 7 });
  expect(v.old!.state).toBe("stopped");
  expect(v.dead!.state).toBe("not running");
  const text = formatStatus(rows, NOW, { streams: true });
  expect(text).toMatch(/^CLUSTER\s+STATE\s+LAST EVENT\s+LAG\s+EVENTS\s+STORED\s+ERRORS/);
  expect(text).toMatch(/prod\s+watching\s+3s ago\s+0ms\s+1,210\s+1,105\s+0/);
  expect(text).toMatch(/dead\s+not running \(seen 2m ago\)/);
  expect(text).toContain('edge (1s ago): cluster "edge" (https://y): TLS: bad CA');
  expect(text).toMatch(/prod\s+taskruns\s+watching\s+100/);
});

test("no rows: says how to start watching", () => {
  expect(formatStatus([], NOW)).toMatch(/No cluster has been watched/);
});

test("ages read at a glance", () => {
  expect(ago(NOW - 500, NOW)).toBe("1s ago");
  expect(ago(NOW - 125_000, NOW)).toBe("2m5s ago");
  expect(ago(NOW - 7_300_000, NOW)).toBe("2h1m ago");
  expect(ago(null, NOW)).toBe("never");
});
