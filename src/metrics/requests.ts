/**
 * Request metrics for both listeners: how many calls were answered, by
 * method and outcome, and how long they took. Method labels are the fixed
 * set of served RPCs and REST route templates (never raw paths), so a
 * client probing random URLs cannot grow the number of series.
 */
import type { Counter, Histogram, Registry } from "./registry.ts";

/** Seconds; from a cached page (~1 ms) to a long summary. */
export const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Seconds; phases of a call, from a queued write (~0.5 ms) to a stalled transfer. */
export const PHASE_BUCKETS = [0.00025, 0.0005, ...REQUEST_BUCKETS];

export type Transport = "grpc" | "rest";

/**
 * Where a gRPC call's time went, in seconds. `receive`: from the call's
 * headers to its (first) request message, the client's upload and the
 * server's receive window. `handle`: from there to the (first) answer, or to
 * the status when there is none: Hindsight's own work, queueing for the
 * writer included. `send`: from the answer handed to the transport to the
 * status, which grpc-js sends once the answer is written: the client's
 * receive window and download.
 */
export interface GrpcPhases {
  receive: number;
  handle: number;
  send: number | null;
}

export class RequestMetrics {
  private readonly total: Counter;
  private readonly duration: Histogram;
  private readonly phases: Histogram;

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
    this.phases = registry.histogram(
      "hindsight_grpc_phase_seconds",
      "Where gRPC calls spend their time, by method and phase: receive (the request arriving), handle (Hindsight's work), send (the answer leaving).",
      ["method", "phase"],
      PHASE_BUCKETS,
    );
  }

  /** For calls that got a request message; cancelled calls are not split. */
  observePhases(method: string, p: GrpcPhases): void {
    this.phases.observe({ method, phase: "receive" }, p.receive);
    this.phases.observe({ method, phase: "handle" }, p.handle);
    if (p.send !== null) this.phases.observe({ method, phase: "send" }, p.send);
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
