/**
 * The REST API as an Elysia app: one route per HTTP binding of the Results
 * service (derived in routes.ts), each decoding its request, calling the
 * shared handler of src/api/results-rpc.ts (the one gRPC calls) and encoding
 * the answer as grpc-gateway does. Also `GET /healthz`, `GET /openapi.json`
 * and a human-readable API page at `GET /docs`.
 *
 * Nothing of Elysia or TypeBox reaches a client: validation failures, unknown
 * paths and wrong verbs are all answered with the API's own JSON errors.
 */
import { Elysia } from "elysia";
import { AppError, invalidArgument, notFound } from "../../core/errors.ts";
import type { LogsService } from "../../core/logs-service.ts";
import { Logs, Results, type DeleteLogRequest } from "../../gen/api_pb.ts";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.ts";
import { parseFieldPaths } from "../field-mask.ts";
import type { CallContext, Rpc } from "../results-rpc.ts";
import { readJsonBody } from "./body.ts";
import { apiPage } from "./api-page.ts";
import { errorResponse, JSON_TYPE } from "./errors.ts";
import { encodeMessage } from "./json.ts";
import { jsonPage } from "./list-page.ts";
import { openApiDocument } from "./openapi.ts";
import { buildRequest } from "./request.ts";
import { deriveRoutes, FIELDS_PARAM, type Route } from "./routes.ts";
import { logResponse } from "./log-routes.ts";
import { LogAccess } from "../logs-rpc.ts";
import type { Authorizer, ImpersonateHeader } from "../../core/auth.ts";
import type { ClientLimiter } from "../../core/client-limit.ts";

/** Longest request target (path and query) answered; longer ones get 414. Bun itself refuses headers over 16 KiB. */
export const MAX_URL_BYTES = 8 * 1024;

export interface RestAppOptions {
  /** The shared Results handlers, keyed by method localName. */
  rpc: Map<string, Rpc>;
  /** Largest request body accepted. */
  maxBodyBytes: number;
  /** Health status of a service ("" = the server), undefined when unknown. */
  health: (service: string) => Serving | undefined;
  /** The caller's address of a request (the listener knows it, the app does not); absent: calls are not capped per client. */
  clientOf?: (request: Request) => string;
  /** Prometheus text for GET /metrics (the watcher's counters), when there is any. */
  metrics?: () => string;
  /** GetLog over HTTP and the Dashboard route; without it neither is served. */
  logs?: LogsService;
  /** Checks the log routes (the derived routes are checked by their handlers); absent: auth mode `none`. */
  authz?: Authorizer;
  /** Per-client cap on calls in flight, shared with the handlers; absent: none. */
  limiter?: ClientLimiter;
  /** Path prefix of the Dashboard's external-logs route; "" for none. */
  dashboardLogsPrefix?: string;
  /** Told the matched route template of each request (for request metrics); absent: not told. */
  onRoute?: (request: Request, route: string) => void;
  /** GET /readyz: whether the service can take writes now (database writable, schema current); absent: not served. */
  ready?: () => { ready: boolean; checks: Record<string, string> };
}

export const API_ROUTES: readonly Route[] = deriveRoutes([Results, Logs]);

const json = (status: number, body: string) => new Response(body, { status, headers: { "content-type": JSON_TYPE } });

const NOT_FOUND_BODY = JSON.stringify({ code: 5, message: "Not Found" });
const METHOD_NOT_ALLOWED_BODY = JSON.stringify({ code: 12, message: "Method Not Allowed" });

/** Which query parameter failed validation, and why, in the API's words. */
function queryError(route: Route, url: string): AppError {
  const params = new URL(url).searchParams;
  for (const q of route.query) {
    for (const name of new Set([q.field.name, q.field.jsonName])) {
      const raw = params.getAll(name).at(-1);
      if (raw === undefined) continue;
      if (!q.accepts(raw)) {
        const shown = raw.length > 100 ? `${JSON.stringify(raw.slice(0, 100))}…` : JSON.stringify(raw);
        return invalidArgument(`query parameter ${name}=${shown}: expected ${q.expected}`);
      }
    }
  }
  return invalidArgument("invalid query string");
}

/**
 * The call context of a REST request, as grpc-gateway builds the metadata:
 * the `Authorization` header is forwarded, so are the `Impersonate-*`
 * headers (spec §2.5), and the `fields` query parameter becomes the
 * partial-response mask.
 */
export function restCallContext(headers: Headers, fields: unknown, client = ""): CallContext {
  const ctx: CallContext = {
    client,
    authorization: headers.get("authorization") ?? "",
    fields: typeof fields === "string" ? parseFieldPaths([fields]) : [],
  };
  const impersonate = impersonateHeaders(headers);
  if (impersonate.length > 0) ctx.impersonate = impersonate;
  return ctx;
}

/** Every `Impersonate-*` header as [lower-case name, value] (repeated ones arrive joined by ", "; see src/kube-auth/impersonation.ts). */
function impersonateHeaders(headers: Headers): ImpersonateHeader[] {
  const out: ImpersonateHeader[] = [];
  headers.forEach((value, name) => {
    if (name.startsWith("impersonate-")) out.push([name, value]);
  });
  return out;
}

function healthz(opts: RestAppOptions, url: string): Response {
  const service = new URL(url).searchParams.get("service") ?? "";
  const status = opts.health(service);
  if (status === undefined) return errorResponse(notFound(`unknown service ${JSON.stringify(service.slice(0, 200))}`), "/healthz");
  if (status !== Serving.SERVING) return errorResponse(new AppError("unavailable", Serving[status] ?? String(status)), "/healthz");
  return json(200, `{"status":"SERVING"}\n`);
}

export function buildRestApp(opts: RestAppOptions) {
  const byRoute = new Map(API_ROUTES.map((r) => [`${r.verb} ${r.path.routerPath}`, r]));
  // strictPath: a trailing slash is another path. Bun resolves dot segments
  // (also %2E%2E) before the app sees the URL, so ".../records/.." arrives as
  // ".../results/r/"; matching it to ".../results/r" would let a record name
  // of ".." reach its Result. grpc-gateway does not match it either (404).
  const onRoute = opts.onRoute;
  const app = new Elysia({ normalize: false, strictPath: true })
    .onRequest(({ request }) => {
      if (request.url.length - request.url.indexOf("/", 8) > MAX_URL_BYTES) {
        return errorResponse(new AppError("invalid_argument", `request target is longer than ${MAX_URL_BYTES} bytes`, 414), "request");
      }
    })
    // Before validation, so a request refused for its query still counts under its route.
    .onTransform(({ request, route }) => onRoute?.(request, route))
    .onError(({ code, error, request, route }) => {
      if (code === "NOT_FOUND") return json(404, NOT_FOUND_BODY);
      if (code === "VALIDATION") {
        const r = byRoute.get(`${request.method} ${route}`);
        return errorResponse(r ? queryError(r, request.url) : invalidArgument("invalid request"), route);
      }
      if (code === "PARSE") return errorResponse(invalidArgument("invalid request"), route);
      return errorResponse(error, route);
    });

  const paths = new Set<string>();
  for (const route of API_ROUTES) {
    const rpc = opts.rpc.get(route.method.localName);
    // The Logs routes are served when the Logs handlers are given; every Results route must be.
    if (!rpc && route.method.parent.typeName === Logs.typeName) continue;
    if (!rpc) throw new Error(`no handler for ${route.method.name}`);
    const where = `${route.verb} ${route.path.text}`;
    const handler = async ({ request, params, query }: { request: Request; params: Record<string, string>; query: Record<string, unknown> }) => {
      try {
        const ctx = restCallContext(request.headers, query[FIELDS_PARAM], opts.clientOf?.(request) ?? "");
        // GET and DELETE bodies are ignored (the CLI sends one with GET).
        const body = route.body !== "" ? await readJsonBody(request, opts.maxBodyBytes) : undefined;
        const req = buildRequest(route, params, query, body);
        if (rpc.encoded) {
          const bytes = await rpc.encoded(req, ctx, jsonPage);
          if (bytes) return new Response(bytes, { status: 200, headers: { "content-type": JSON_TYPE } });
        }
        const res = await rpc.call(req, ctx);
        return json(200, encodeMessage(route.method.output, res));
      } catch (e) {
        return errorResponse(e, where);
      }
    };
    app.route(route.verb, route.path.routerPath, handler, { query: route.querySchema, parse: "none" });
    paths.add(route.path.routerPath);
  }

  const logs = opts.logs;
  if (logs) {
    const access = new LogAccess(logs, opts.authz, opts.limiter);
    const ctxOf = (request: Request) => restCallContext(request.headers, undefined, opts.clientOf?.(request) ?? "");
    // GetLog is server-streaming, so not among the derived routes: it shares DeleteLog's path template.
    const del = API_ROUTES.find((r) => r.method.localName === "deleteLog")!;
    const where = `GET ${del.path.text}`;
    app.get(
      del.path.routerPath,
      async ({ params, request }: { params: Record<string, string>; request: Request }) => {
        try {
          const req = buildRequest(del, params, {}, undefined) as DeleteLogRequest;
          return await access.getLog(req.name, ctxOf(request), {}, (log) => logResponse(log, where));
        } catch (e) {
          return errorResponse(e, where);
        }
      },
      { parse: "none" },
    );
    // Upstream's plugin-mode route (spec §7.6): the last segment names the run's record (or a Log record).
    const v3 = "/apis/results.tekton.dev/v1alpha3/parents/:parent/results/:result/logs/:record";
    app.get(
      v3,
      async ({ params, request }: { params: Record<string, string | null>; request: Request }) => {
        try {
          const { parent, result, record } = params;
          if (typeof parent !== "string" || typeof result !== "string" || typeof record !== "string") throw invalidArgument("the path is not valid percent-encoding");
          return await access.getLog(`${parent}/results/${result}/logs/${record}`, ctxOf(request), {}, (log) => logResponse(log, `GET ${v3}`));
        } catch (e) {
          return errorResponse(e, `GET ${v3}`);
        }
      },
      { parse: "none" },
    );
    paths.add(v3);
    const prefix = opts.dashboardLogsPrefix ?? "";
    if (prefix !== "") {
      const dash = `${prefix}/:namespace/:pod/:container`;
      app.get(
        dash,
        async ({ params, request }: { params: Record<string, string | null>; request: Request }) => {
          try {
            // Elysia has decoded the segments; one that is not valid percent-encoding comes as null.
            const { namespace, pod, container } = params;
            if (typeof namespace !== "string" || typeof pod !== "string" || typeof container !== "string") {
              throw invalidArgument("the path is not valid percent-encoding");
            }
            return await access.containerLog(namespace, pod, container, ctxOf(request), (log) => logResponse(log, `GET ${dash}`));
          } catch (e) {
            return errorResponse(e, `GET ${dash}`);
          }
        },
        { parse: "none" },
      );
      paths.add(dash);
    }
  }

  const doc = openApiDocument(API_ROUTES);
  const docJson = JSON.stringify(doc, null, 2);
  const page = apiPage(doc);
  app
    .get("/healthz", ({ request }) => healthz(opts, request.url), { parse: "none" })
    .get("/openapi.json", () => json(200, docJson), { parse: "none" })
    .get("/docs", () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }), { parse: "none" });
  for (const p of ["/healthz", "/openapi.json", "/docs"]) paths.add(p);
  const ready = opts.ready;
  if (ready) {
    app.get(
      "/readyz",
      () => {
        const r = ready();
        return json(r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? "READY" : "NOT_READY", checks: r.checks }));
      },
      { parse: "none" },
    );
    paths.add("/readyz");
  }
  const metrics = opts.metrics;
  if (metrics) {
    app.get("/metrics", () => new Response(metrics(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }), { parse: "none" });
    paths.add("/metrics");
  }

  // A known path with another verb: grpc-gateway's 405, mapped to UNIMPLEMENTED (501).
  for (const p of paths) app.all(p, () => json(501, METHOD_NOT_ALLOWED_BODY), { parse: "none" });
  return app;
}
