/**
 * The gRPC listener: the Results API, health and reflection on one grpc-js
 * server. Shutdown stops accepting, lets in-flight calls finish (bounded by a
 * deadline), and closes long-lived health and reflection streams first so
 * they do not hold it open.
 */
import * as grpc from "@grpc/grpc-js";
import type { LogsService } from "../../core/logs-service.ts";
import type { ResultsService } from "../../core/results-service.ts";
import { file_api } from "../../gen/api_pb.ts";
import { file_log } from "../../gen/log_pb.ts";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.ts";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { HealthRegistry, HealthStatus } from "./health.ts";
import { Reflection } from "./reflection.ts";
import { logsService, logsV1alpha3Service } from "./logs.ts";
import { resultsService } from "./results.ts";
import { largeAnswerTurns } from "./send-gate.ts";
import { attachReadDeadline } from "./read-deadline.ts";
import { requestMetricsInterceptor } from "./metrics-interceptor.ts";
import type { RequestMetrics } from "../../metrics/requests.ts";
import type { EncodedRecordCache } from "../encoded-cache.ts";
import { log } from "../../log.ts";
import type { Authorizer } from "../../core/auth.ts";
import type { TlsReloader } from "../../tls/reloader.ts";
import type { ClientLimiter } from "../../core/client-limit.ts";
import { framePagesInPlace } from "./framed.ts";

export const RESULTS_SERVICE = "tekton.results.v1alpha2.Results";
export const LOGS_SERVICE = "tekton.results.v1alpha2.Logs";
export const LOGS_V1ALPHA3_SERVICE = "tekton.results.v1alpha3.Logs";

// grpc-js logs plain text to stderr; route it into the structured log so
// every line stays one JSON object.
grpc.setLogger({
  error: (...args: unknown[]) => log.warn("grpc", { detail: args.map(String).join(" ") }),
  info: (...args: unknown[]) => log.debug("grpc", { detail: args.map(String).join(" ") }),
  debug: (...args: unknown[]) => log.debug("grpc", { detail: args.map(String).join(" ") }),
});
grpc.setLogVerbosity(grpc.logVerbosity.ERROR);

export interface GrpcServerOptions {
  /** "HOST:PORT"; port 0 picks a free port. */
  listen: string;
  maxReceiveBytes: number;
  /** Close connections with no call in flight this long (ms); absent: never. */
  idleTimeoutMs?: number;
  /** Reset a unary request's stream not received whole within this (ms); absent: no deadline. */
  readTimeoutMs?: number;
  /** Counts and times every call; absent: not measured. */
  requestMetrics?: RequestMetrics;
  results: ResultsService;
  logs: LogsService;
  /** Encoded records ListRecords answers from (shared with REST); none by default. */
  cache?: EncodedRecordCache;
  /** Checks every Results call; absent: auth mode `none`. Health and reflection stay open, as upstream's do. */
  authz?: Authorizer;
  /** Per-client cap on Results calls in flight (shared with REST); absent: none. */
  limiter?: ClientLimiter;
  /** Serve TLS from these (reloaded in place); absent: plaintext. */
  tls?: TlsReloader;
}

/**
 * TLS credentials that follow the reloader. grpc-js's declaration names the
 * first parameter the CA provider, but its code takes it as the identity
 * (certificate and key) provider and the second as the CA one.
 */
function credentials(tls: TlsReloader | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const creds = grpc.experimental.createCertificateProviderServerCredentials(tls, tls.requiresClientCert ? tls : null, tls.requiresClientCert);
  // grpc-js creates the TLS server before it subscribes to the provider, so
  // the server would start with no certificate and take one later through
  // setSecureContext (it refuses connections until then). Subscribing first
  // makes the certificate part of the server's initial options; later
  // updates still arrive through grpc-js's own subscription.
  creds._addWatcher(() => {});
  return creds;
}

export interface RunningGrpcServer {
  port: number;
  health: HealthRegistry;
  /** Graceful stop; forces after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  if (!framePagesInPlace()) log.warn("grpc-js internals moved: list pages are copied into their gRPC frames (slower, more garbage)");
  const served = new Set<string>();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": opts.maxReceiveBytes,
    "grpc.max_send_message_length": -1,
    // Also closes connections that never open a call (a client that connects and sends nothing).
    ...(opts.idleTimeoutMs ? { "grpc.max_connection_idle_ms": opts.idleTimeoutMs } : {}),
    // Channelz bookkeeping costs per call and Hindsight has its own metrics.
    "grpc.enable_channelz": 0,
    // Large answers (ListRecords pages) take turns per connection: see send-gate.ts.
    interceptors: [...(opts.requestMetrics ? [requestMetricsInterceptor(opts.requestMetrics, served)] : []), largeAnswerTurns()],
  });
  const services: string[] = [];
  const add = (name: string, s: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }) => {
    server.addService(s.definition, s.implementation);
    services.push(name);
    for (const m of Object.values(s.definition)) served.add(m.path);
  };

  add(RESULTS_SERVICE, resultsService(opts.results, opts.cache, opts.authz, opts.limiter));
  // Both Logs services: upstream registers one or the other (§1.2, §1.3); serving
  // both lets the current and the deprecated tkn-results read the same logs.
  add(LOGS_SERVICE, logsService(opts.logs, opts.authz, opts.limiter));
  add(LOGS_V1ALPHA3_SERVICE, logsV1alpha3Service(opts.logs, opts.authz, opts.limiter));
  const health = new HealthRegistry();
  add("grpc.health.v1.Health", health.service());
  const reflection = new Reflection(
    [file_api, file_log, file_grpc_health_v1_health, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection],
    () => services,
  );
  const [r1, r1alpha] = reflection.services();
  add("grpc.reflection.v1.ServerReflection", r1!);
  add("grpc.reflection.v1alpha.ServerReflection", r1alpha!);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.listen, credentials(opts.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  // Uploads (client-streaming UpdateLog) arrive over time by design.
  if (opts.readTimeoutMs) attachReadDeadline(server, opts.readTimeoutMs, (path) => path.endsWith("/UpdateLog"));
  health.set("", HealthStatus.SERVING);
  health.set(RESULTS_SERVICE, HealthStatus.SERVING);
  health.set(LOGS_SERVICE, HealthStatus.SERVING);
  health.set(LOGS_V1ALPHA3_SERVICE, HealthStatus.SERVING);

  return {
    port,
    health,
    shutdown(graceMs = 10_000) {
      health.shutdown();
      reflection.close();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
