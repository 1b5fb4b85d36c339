/**
 * Database figures on /metrics, read at scrape time: the file and WAL sizes
 * (a WAL that keeps growing means checkpoints cannot finish: a reader is
 * stuck) and what retention has deleted.
 */
import { statSync } from "node:fs";
import type { Registry } from "../metrics/registry.ts";
import type { RetentionJob } from "./retention-job.ts";

const size = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

export function databaseGauges(metrics: Registry, db: string, retention: RetentionJob): void {
  const dbSize = metrics.gauge("hindsight_db_size_bytes", "size of the SQLite database file");
  const walSize = metrics.gauge("hindsight_db_wal_size_bytes", "size of the database's write-ahead log");
  const deleted = metrics.counter("hindsight_retention_deleted_results_total", "results deleted by the retention policy");
  const lastRun = metrics.gauge("hindsight_retention_last_run_timestamp_seconds", "when the retention policy last ran (0: not yet)");
  let counted = 0;
  metrics.onCollect(() => {
    if (db !== ":memory:") {
      dbSize.set({}, size(db));
      walSize.set({}, size(`${db}-wal`));
    }
    deleted.inc({}, retention.deleted - counted);
    counted = retention.deleted;
    lastRun.set({}, retention.lastRunMs / 1000);
  });
}
