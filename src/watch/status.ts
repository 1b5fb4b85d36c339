/**
 * `hindsight status`: each watched cluster's state at a glance, read from
 * the database (the watch_streams table the running server refreshes every
 * second), so it works from any shell on the VM without a network call and
 * still tells something when the server is down ("not running, last seen
 * 5m ago").
 *
 * Rows with stream "*" are the clusters themselves (written even while a
 * cluster is unreachable); the others are its watch streams.
 */

/** One row of watch_streams (see src/store/watch-state.ts). */
export interface StatusRow {
  cluster: string;
  stream: string;
  resourceVersion: string | null;
  listContinue: string | null;
  state: string;
  lastEventAt: number | null;
  lastStoredAt: number | null;
  lagMs: number;
  events: number;
  writes: number;
  errors: number;
  lastError: string | null;
  lastErrorAt: number | null;
  updatedAt: number;
}

/** The stream key of a cluster's own row. */
export const CLUSTER_ROW = "*";

/** A row older than this means the watcher that wrote it is not running. */
export const STALE_MS = 15_000;

export function ago(ms: number | null, now: number): string {
  if (ms === null || ms <= 0) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""} ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

const num = (n: number) => n.toLocaleString("en-US");

export interface ClusterView {
  name: string;
  /** watching | listing | reconnecting | unreachable | starting | stopped | not running */
  state: string;
  connected: boolean;
  lastEventAt: number | null;
  lagMs: number;
  events: number;
  writes: number;
  errors: number;
  lastError: string | null;
  lastErrorAt: number | null;
  updatedAt: number;
  streams: StatusRow[];
}

/** Groups rows by cluster and judges each cluster's state. */
export function clusterViews(rows: StatusRow[], now: number): ClusterView[] {
  const by = new Map<string, StatusRow[]>();
  for (const r of rows) {
    if (!by.has(r.cluster)) by.set(r.cluster, []);
    by.get(r.cluster)!.push(r);
  }
  const out: ClusterView[] = [];
  for (const [name, rs] of [...by.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const self = rs.find((r) => r.stream === CLUSTER_ROW) ?? null;
    const streams = rs.filter((r) => r.stream !== CLUSTER_ROW).sort((a, b) => a.stream.localeCompare(b.stream));
    const updatedAt = Math.max(...rs.map((r) => r.updatedAt));
    const stale = now - updatedAt > STALE_MS;
    let state: string;
    if (self?.state === "stopped" || (streams.length > 0 && streams.every((s) => s.state === "stopped"))) state = "stopped";
    else if (stale) state = "not running";
    else if (self && (self.state === "unreachable" || self.state === "starting") && streams.length === 0) state = self.state;
    else if (streams.some((s) => s.state === "backoff" || s.state === "error")) state = "reconnecting";
    else if (streams.some((s) => s.state === "listing")) state = "listing";
    else if (streams.length > 0 && streams.every((s) => s.state === "watching")) state = "watching";
    else state = self?.state ?? "starting";
    const errorRows = rs.filter((r) => r.lastErrorAt !== null).sort((a, b) => (b.lastErrorAt ?? 0) - (a.lastErrorAt ?? 0));
    out.push({
      name,
      state,
      connected: !stale && streams.length > 0 && streams.every((s) => s.state === "watching" || s.state === "listing"),
      lastEventAt: Math.max(0, ...streams.map((s) => s.lastEventAt ?? 0)) || null,
      lagMs: Math.max(0, ...streams.map((s) => s.lagMs)),
      events: streams.reduce((a, s) => a + s.events, 0),
      writes: streams.reduce((a, s) => a + s.writes, 0),
      errors: (self?.errors ?? 0) + streams.reduce((a, s) => a + s.errors, 0),
      lastError: errorRows[0]?.lastError ?? null,
      lastErrorAt: errorRows[0]?.lastErrorAt ?? null,
      updatedAt,
      streams,
    });
  }
  return out;
}

function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** The human-readable report. */
export function formatStatus(rows: StatusRow[], now = Date.now(), opts: { streams?: boolean } = {}): string {
  const views = clusterViews(rows, now);
  if (views.length === 0) return "No cluster has been watched with this database (serve with --kubeconfig, --context or --watch-config).\n";
  const lines: string[] = [];
  lines.push(
    table(
      ["CLUSTER", "STATE", "LAST EVENT", "LAG", "EVENTS", "STORED", "ERRORS"],
      views.map((v) => [
        v.name,
        v.state === "not running" ? `not running (seen ${ago(v.updatedAt, now)})` : v.state,
        ago(v.lastEventAt, now),
        v.state === "watching" || v.state === "listing" || v.state === "reconnecting" ? duration(v.lagMs) : "-",
        num(v.events),
        num(v.writes),
        num(v.errors),
      ]),
    ),
  );
  const errs = views.filter((v) => v.lastError);
  if (errs.length) {
    lines.push("", "Last errors:");
    for (const v of errs) lines.push(`  ${v.name} (${ago(v.lastErrorAt, now)}): ${v.lastError}`);
  }
  if (opts.streams) {
    lines.push("", "Streams:");
    lines.push(
      table(
        ["  CLUSTER", "STREAM", "STATE", "RESOURCE VERSION", "LAST EVENT", "LAG", "EVENTS", "STORED", "ERRORS"],
        views.flatMap((v) =>
          v.streams.map((s) => [
            `  ${v.name}`,
            s.stream,
            s.listContinue ? "listing (resumable)" : s.state,
            s.resourceVersion ?? "-",
            ago(s.lastEventAt, now),
            duration(s.lagMs),
            num(s.events),
            num(s.writes),
            num(s.errors),
          ]),
        ),
      ),
    );
  }
  return lines.join("\n") + "\n";
}
