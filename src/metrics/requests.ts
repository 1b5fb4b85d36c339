/**
 * Request metrics for both listeners: how many calls were answered, by
 * method and outcome, and how long they took. Method labels are the fixed
 * set of served RPCs and REST route templates (never raw paths), so a
 * client probing random URLs cannot grow the number of series.
 */
import type { Counter, Histogram, Registry } from "./registry.ts";

/** Seconds; from a cached page (~1 ms) to a long summary. */
export const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type Transport = "grpc" | "rest";

export class RequestMetrics {
  private readonly total: Counter;
  private readonly duration: Histogram;

  constructor(registry: Registry) {
    this.total = registry.counter(
      "hindsight_requests_total",
      "Calls answered, by transport, method (gRPC full method or REST route template) and code (gRPC status name, or HTTP status for REST).",
      ["transport", "method", "code"],
    );
    this.duration = registry.histogram(
      "hindsight_request_duration_seconds",
      "Time from a call's arrival to its status (gRPC) or response headers (REST), by transport and method.",
      ["transport", "method"],
      REQUEST_BUCKETS,
    );
  }

  observe(transport: Transport, method: string, code: string, seconds: number): void {
    this.total.inc({ transport, method, code });
    this.duration.observe({ transport, method }, seconds);
  }

  /** For tests and status. */
  count(transport: Transport, method: string, code: string): number {
    return this.total.get({ transport, method, code });
  }
}
