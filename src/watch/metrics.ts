/**
 * The watcher's metrics, every series labelled with `cluster` (and
 * `resource` where it differs by resource: taskruns, pipelineruns,
 * customruns).
 */
import type { Counter, Gauge, Histogram, Registry } from "../metrics/registry.ts";

export interface WatchMetrics {
  events: Counter;
  written: Counter;
  writeErrors: Counter;
  restarts: Counter;
  relists: Counter;
  latency: Histogram;
  deleted: Counter;
  connected: Gauge;
  lag: Gauge;
  lastEvent: Gauge;
  logBytes: Counter;
  logsStored: Counter;
  logNotes: Counter;
  logStreams: Gauge;
}

/** Seconds; the upload latency is event received -> stored (committed). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function watchMetrics(r: Registry): WatchMetrics {
  return {
    events: r.counter("hindsight_watch_events_total", "Watch and list events received, by type (ADDED, MODIFIED, DELETED, LISTED, BOOKMARK).", ["cluster", "resource", "type"]),
    written: r.counter("hindsight_watch_records_written_total", "Records created or updated (unchanged data writes nothing and is not counted).", ["cluster", "resource"]),
    writeErrors: r.counter("hindsight_watch_write_errors_total", "Failed attempts to store a run (retried unless the run cannot be stored at all).", ["cluster", "resource"]),
    restarts: r.counter("hindsight_watch_restarts_total", "Watch connections re-established after they ended or failed.", ["cluster", "resource"]),
    relists: r.counter("hindsight_watch_relists_total", "Full lists after the resume point expired (410 Gone), plus the first list.", ["cluster", "resource"]),
    latency: r.histogram("hindsight_watch_upload_latency_seconds", "From event received to the run stored (committed).", ["cluster"], LATENCY_BUCKETS),
    deleted: r.counter("hindsight_watch_runs_deleted_total", "Completed runs deleted from the cluster by cleanup after being stored.", ["cluster", "resource"]),
    connected: r.gauge("hindsight_watch_connected", "1 when every watch stream of the cluster is connected, else 0.", ["cluster"]),
    lag: r.gauge("hindsight_watch_lag_seconds", "Age of the oldest event received and not yet stored (0 when caught up).", ["cluster"]),
    lastEvent: r.gauge("hindsight_watch_last_event_timestamp_seconds", "Unix time of the last event received from the cluster.", ["cluster"]),
    logBytes: r.counter("hindsight_watch_log_bytes_total", "Container log bytes captured and stored.", ["cluster"]),
    logsStored: r.counter("hindsight_watch_logs_stored_total", "Run logs completed (every container ended and stored).", ["cluster"]),
    logNotes: r.counter("hindsight_watch_log_notes_total", "Containers whose log could not be read (fully), noted in the log instead.", ["cluster"]),
    logStreams: r.gauge("hindsight_watch_log_streams", "Container log streams open.", ["cluster"]),
  };
}
