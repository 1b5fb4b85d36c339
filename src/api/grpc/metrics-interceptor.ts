/**
 * A grpc-js server interceptor feeding RequestMetrics: one observation per
 * call, when its status is sent or when it is cancelled. Paths that no
 * service serves are counted as "other", so unknown methods add no series.
 */
import * as grpc from "@grpc/grpc-js";
import type { RequestMetrics } from "../../metrics/requests.ts";

/** `served`: full method paths ("/pkg.Service/Method") of the registered services, filled as they are added. */
export function requestMetricsInterceptor(metrics: RequestMetrics, served: ReadonlySet<string>): grpc.ServerInterceptor {
  return (method, call) => {
    const t0 = performance.now();
    const name = served.has(method.path) ? method.path.slice(1) : "other";
    let done = false;
    const observe = (code: string) => {
      if (done) return;
      done = true;
      metrics.observe("grpc", name, code, (performance.now() - t0) / 1000);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => observe("CANCELLED") }),
      sendStatus: (status, next) => {
        observe(grpc.status[status.code] ?? String(status.code));
        next(status);
      },
    });
  };
}
