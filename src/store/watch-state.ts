/**
 * The watch_streams table (migration 0003): per cluster and stream, the
 * resume point of the watcher and a status snapshot. Writes join the store's
 * group commit (they run as write jobs on the single writer), so a saved
 * resume point is committed after the records written before it.
 */
import type { Database, Statement } from "bun:sqlite";
import type { SqliteStore } from "./sqlite-store.ts";

export interface StreamRow {
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

interface Row {
  cluster: string;
  stream: string;
  resource_version: string | null;
  list_continue: string | null;
  state: string;
  last_event_at: number | null;
  last_stored_at: number | null;
  lag_ms: number;
  events: number;
  writes: number;
  errors: number;
  last_error: string | null;
  last_error_at: number | null;
  updated_at: number;
}

const COLUMNS =
  "cluster, stream, resource_version, list_continue, state, last_event_at, last_stored_at, lag_ms, events, writes, errors, last_error, last_error_at, updated_at";

function toRow(r: Row): StreamRow {
  return {
    cluster: r.cluster,
    stream: r.stream,
    resourceVersion: r.resource_version,
    listContinue: r.list_continue,
    state: r.state,
    lastEventAt: r.last_event_at,
    lastStoredAt: r.last_stored_at,
    lagMs: r.lag_ms,
    events: r.events,
    writes: r.writes,
    errors: r.errors,
    lastError: r.last_error,
    lastErrorAt: r.last_error_at,
    updatedAt: r.updated_at,
  };
}

export class SqliteWatchState {
  private readonly upsert: Statement<unknown, [Record<string, string | number | null>]>;
  private readonly one: Statement<Row, [string, string]>;

  constructor(
    db: Database,
    private readonly store: SqliteStore,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO watch_streams (${COLUMNS}) VALUES ($cluster, $stream, $resource_version, $list_continue, $state,
         $last_event_at, $last_stored_at, $lag_ms, $events, $writes, $errors, $last_error, $last_error_at, $updated_at)
       ON CONFLICT (cluster, stream) DO UPDATE SET resource_version = excluded.resource_version,
         list_continue = excluded.list_continue, state = excluded.state, last_event_at = excluded.last_event_at,
         last_stored_at = excluded.last_stored_at, lag_ms = excluded.lag_ms, events = excluded.events,
         writes = excluded.writes, errors = excluded.errors, last_error = excluded.last_error,
         last_error_at = excluded.last_error_at, updated_at = excluded.updated_at`,
    );
    this.one = db.prepare(`SELECT ${COLUMNS} FROM watch_streams WHERE cluster = ? AND stream = ?`);
  }

  load(cluster: string, stream: string): StreamRow | null {
    const r = this.one.get(cluster, stream);
    return r ? toRow(r) : null;
  }

  save(row: StreamRow): Promise<void> {
    const params = {
      cluster: row.cluster,
      stream: row.stream,
      resource_version: row.resourceVersion,
      list_continue: row.listContinue,
      state: row.state,
      last_event_at: row.lastEventAt,
      last_stored_at: row.lastStoredAt,
      lag_ms: Math.round(row.lagMs),
      events: row.events,
      writes: row.writes,
      errors: row.errors,
      last_error: row.lastError,
      last_error_at: row.lastErrorAt,
      updated_at: row.updatedAt,
    };
    return this.store.write(() => {
      this.upsert.run(params);
    });
  }
}

/** Every stream's row, for `hindsight status` (works on a read-only connection). */
export function readWatchStreams(db: Database): StreamRow[] {
  const exists = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'watch_streams'").get();
  if (!exists) return [];
  return db.query<Row, []>(`SELECT ${COLUMNS} FROM watch_streams ORDER BY cluster, stream`).all().map(toRow);
}
