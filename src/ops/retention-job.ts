/**
 * The retention policy on a schedule inside `serve`: a first pass shortly
 * after start (a service restarted daily still prunes), then one every
 * interval. Deletions go through the Results service, i.e. the single
 * writer, like any DeleteResult call. The policy and interval can be
 * replaced while running (SIGHUP).
 */
import type { Database } from "bun:sqlite";
import type { Config } from "../config/config.ts";
import { log } from "../log.ts";
import { compilePolicy, expiredResults, type Policy } from "./retention.ts";

export const FIRST_RUN_DELAY_MS = 5_000;

export class RetentionJob {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private policy: Policy;
  private intervalMs: number;
  /** Results deleted since start, for /metrics. */
  deleted = 0;
  lastRunMs = 0;

  constructor(
    private readonly db: Database,
    cfg: Config,
    private readonly remove: (name: string) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {
    this.policy = compilePolicy(cfg);
    this.intervalMs = cfg.retentionIntervalMs;
  }

  get active(): boolean {
    return this.policy.defaultMaxAgeMs !== null || this.policy.rules.some((r) => r.maxAgeMs !== null);
  }

  start(firstDelayMs = FIRST_RUN_DELAY_MS): void {
    this.schedule(firstDelayMs);
  }

  /**
   * A new policy (SIGHUP); a bad one throws before anything changes. A
   * changed policy or interval is applied by a pass soon, not an hour later.
   */
  update(cfg: Config): void {
    const next = compilePolicy(cfg);
    const changed = JSON.stringify([next.rules, next.defaultMaxAgeMs, cfg.retentionIntervalMs]) !== JSON.stringify([this.policy.rules, this.policy.defaultMaxAgeMs, this.intervalMs]);
    this.policy = next;
    this.intervalMs = cfg.retentionIntervalMs;
    if (changed && !this.running) this.schedule(FIRST_RUN_DELAY_MS);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((e) => log.error("retention: pass failed", { error: e }))
        .finally(() => {
          this.running = null;
          this.schedule(this.intervalMs);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** One pass: find what is due, delete it. Returns when done. */
  async runOnce(): Promise<number> {
    if (!this.active) return 0;
    const t0 = performance.now();
    const due = expiredResults(this.db, this.policy, this.now());
    let n = 0;
    for (const r of due) {
      if (this.stopped) break;
      if (await this.remove(r.name).catch(() => false)) n++;
    }
    this.deleted += n;
    this.lastRunMs = this.now();
    if (due.length > 0 || n > 0) log.info("retention: deleted expired results", { deleted: n, due: due.length, ms: Math.round(performance.now() - t0) });
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
