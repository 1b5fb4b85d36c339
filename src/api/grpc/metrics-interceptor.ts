/**
 * A grpc-js server interceptor feeding RequestMetrics: one observation per
 * call, when its status is sent or when it is cancelled. Paths that no
 * service serves are counted as "other", so unknown methods add no series.
 *
 * A call that got its request is also split into phases (receive, handle,
 * send; see GrpcPhases), so that an operator can tell a slow store from a
 * slow network or a client that reads its answers slowly: over HTTP/2 both
 * directions wait on the peer's flow-control window.
 */
import * as grpc from "@grpc/grpc-js";
import type { RequestMetrics } from "../../metrics/requests.ts";

/** `served`: full method paths ("/pkg.Service/Method") of the registered services, filled as they are added. */
export function requestMetricsInterceptor(metrics: RequestMetrics, served: ReadonlySet<string>): grpc.ServerInterceptor {
  return (method, call) => {
    const t0 = performance.now();
    const name = served.has(method.path) ? method.path.slice(1) : "other";
    let done = false;
    /** When the first request message arrived and the first answer was handed over (0: not yet). */
    let received = 0;
    let answered = 0;
    const observe = (code: string, phases: boolean) => {
      if (done) return;
      done = true;
      const end = performance.now();
      metrics.observe("grpc", name, code, (end - t0) / 1000);
      if (phases && received > 0) {
        const handled = answered > 0 ? answered : end;
        metrics.observePhases(name, { receive: (received - t0) / 1000, handle: (handled - received) / 1000, send: answered > 0 ? (end - answered) / 1000 : null });
      }
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            if (received === 0) received = performance.now();
            nextMessage(message);
          },
          onCancel: () => observe("CANCELLED", false),
        }),
      sendMessage: (message, next) => {
        if (answered === 0) answered = performance.now();
        next(message);
      },
      sendStatus: (status, next) => {
        observe(grpc.status[status.code] ?? String(status.code), true);
        next(status);
      },
    });
  };
}
