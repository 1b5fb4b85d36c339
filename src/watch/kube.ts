/**
 * The Kubernetes side of one cluster: kubeconfig loading and authentication
 * by @kubernetes/client-node, every byte over Bun's own fetch.
 *
 * Why the detour: client-node 2.x hands its TLS settings (CA, client
 * certificate and key, insecure-skip-tls-verify) to an undici dispatcher,
 * and under Bun `undici` is a shim that ignores dispatchers, so the settings
 * vanish and every https call fails to verify (shared notes, bun-stack
 * findings §5). Here client-node still does what it is good at (parsing
 * kubeconfig, contexts, tokens, exec credential plugins for EKS/GKE/AKS,
 * OIDC and the generated API calls), through `kc.applyOptions()`; the
 * resulting CA/cert/key/skip-verify become Bun fetch `tls` options in a
 * small HttpLibrary given to the generated APIs, and the same options serve
 * the watch stream, which is read here as NDJSON.
 */
import { readFileSync } from "node:fs";
import {
  ApiException,
  ApisApi,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RequestContext,
  ResponseContext,
  ServerConfiguration,
  setHeaderOptions,
  wrapHttpLibrary,
  type ConfigurationOptions,
  type SecurityAuthentication,
} from "@kubernetes/client-node";
import type { KubeObject } from "./mapping.ts";

// ---- errors ----------------------------------------------------------------------------

/**
 * A failed call to a cluster, with a message an operator can act on. `status`
 * is the HTTP status (null for network and TLS failures); `transient` says
 * whether retrying can help.
 */
export class KubeError extends Error {
  constructor(
    readonly cluster: string,
    readonly status: number | null,
    readonly reason: string,
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "KubeError";
  }
  get gone(): boolean {
    return this.status === 410;
  }
}

const TLS_HINTS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate is not signed by the cluster's certificate-authority in the kubeconfig",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed and not the cluster's certificate-authority",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate is not signed by the cluster's certificate-authority in the kubeconfig",
  UNABLE_TO_GET_ISSUER_CERT: "the server's certificate is not signed by the cluster's certificate-authority in the kubeconfig",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the server's certificate is not signed by the cluster's certificate-authority in the kubeconfig",
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate does not name the host in the kubeconfig's server URL (set tls-server-name?)",
};

/** Turns anything a call threw into a KubeError naming the cluster. */
export function toKubeError(cluster: string, server: string, e: unknown): KubeError {
  if (e instanceof KubeError) return e;
  if (e instanceof ApiException) {
    const code = e.code;
    let reason = "";
    let msg = "";
    const body: unknown = e.body;
    if (typeof body === "string" && body) {
      try {
        const s = JSON.parse(body) as { reason?: string; message?: string };
        reason = s.reason ?? "";
        msg = s.message ?? "";
      } catch {
        msg = body.slice(0, 200);
      }
    }
    if (code === 401) msg ||= "Unauthorized: the credentials in the kubeconfig were refused";
    if (code === 403) msg ||= "Forbidden";
    const transient = code === 410 || code === 429 || code >= 500 || code === 401;
    return new KubeError(cluster, code, reason, `cluster "${cluster}" (${server}): HTTP ${code}${reason ? ` ${reason}` : ""}: ${msg || "request failed"}`, transient);
  }
  const err = e as { code?: string; message?: string; name?: string };
  const code = err.code ?? err.name ?? "";
  const hint = TLS_HINTS[code];
  if (hint) return new KubeError(cluster, null, code, `cluster "${cluster}" (${server}): TLS: ${hint} (${code})`, true);
  if (code === "ECONNREFUSED") return new KubeError(cluster, null, code, `cluster "${cluster}" (${server}): connection refused`, true);
  if (code === "TimeoutError" || code === "AbortError") return new KubeError(cluster, null, code, `cluster "${cluster}" (${server}): timed out`, true);
  return new KubeError(cluster, null, code || "Error", `cluster "${cluster}" (${server}): ${err.message ?? String(e)}`, true);
}

// ---- kubeconfig --------------------------------------------------------------------------

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  serverName?: string;
}

interface Auth {
  headers: Record<string, string>;
  tls: TlsOptions;
}

/** Loads a kubeconfig: the given file, else $KUBECONFIG / ~/.kube/config / in-cluster, as kubectl does. */
export function loadKubeConfig(path: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** The contexts a kubeconfig names, and its current one. */
export function kubeContexts(kc: KubeConfig): { names: string[]; current: string } {
  return { names: kc.getContexts().map((c) => c.name), current: kc.getCurrentContext() };
}

/** `token-file` paths by user name; client-node reads such a file once, untrimmed, so it is re-read here. */
function tokenFiles(path: string | null): Map<string, string> {
  const out = new Map<string, string>();
  const file = path ?? process.env.KUBECONFIG?.split(":")[0] ?? `${process.env.HOME ?? ""}/.kube/config`;
  let doc: unknown;
  try {
    doc = Bun.YAML.parse(readFileSync(file, "utf8"));
  } catch {
    return out;
  }
  const users = (doc as { users?: Array<{ name?: string; user?: Record<string, unknown> }> })?.users ?? [];
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
  for (const u of users) {
    const tf = u.user?.["token-file"];
    if (u.name && typeof tf === "string") out.set(u.name, tf.startsWith("/") ? tf : `${dir}/${tf}`);
  }
  return out;
}

const toText = (b: unknown): string | undefined => (b == null ? undefined : Buffer.isBuffer(b) ? b.toString("utf8") : String(b));

// ---- the client -----------------------------------------------------------------------------

export interface Gvr {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue: string | null;
}

export type WatchEvent =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: KubeObject }
  | { type: "BOOKMARK"; resourceVersion: string }
  | { type: "ERROR"; status: number; reason: string; message: string };

export interface WatchOptions {
  namespace: string | null;
  resourceVersion: string;
  labelSelector?: string;
  /** Server-side end of the watch. */
  timeoutSeconds: number;
  /** No byte for this long: the connection is presumed dead and the watch ends with an error. */
  idleTimeoutMs: number;
  signal: AbortSignal;
}

export interface KubeClientOptions {
  /** Cluster name, used in every error message. */
  name: string;
  kubeconfig: string | null;
  /** null: the kubeconfig's current context. */
  context: string | null;
  /** Per-request timeout for non-watch calls. */
  requestTimeoutMs?: number;
}

export class KubeClient {
  readonly name: string;
  readonly context: string;
  readonly server: string;
  private readonly kc: KubeConfig;
  private readonly tokenFile: string | null;
  private tokenCache: { token: string; readAt: number } | null = null;
  private authCache: { auth: Auth; at: number } | null = null;
  private readonly custom: CustomObjectsApi;
  private readonly apis: ApisApi;
  private readonly requestTimeoutMs: number;

  constructor(opts: KubeClientOptions) {
    this.name = opts.name;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    const all = loadKubeConfig(opts.kubeconfig);
    const { names, current } = kubeContexts(all);
    const ctxName = opts.context ?? current;
    if (!ctxName) throw new Error(`cluster "${opts.name}": the kubeconfig ${opts.kubeconfig ?? "(default)"} has no current-context; name one with --context`);
    const ctx = all.getContextObject(ctxName);
    if (!ctx) {
      throw new Error(`cluster "${opts.name}": context "${ctxName}" is not in the kubeconfig ${opts.kubeconfig ?? "(default)"} (contexts: ${names.join(", ") || "none"})`);
    }
    // One KubeConfig per context: client-node authenticates "the current context".
    this.kc = new KubeConfig();
    this.kc.loadFromOptions({ clusters: all.clusters, users: all.users, contexts: all.contexts, currentContext: ctxName });
    const cluster = this.kc.getCurrentCluster();
    if (!cluster?.server) throw new Error(`cluster "${opts.name}": context "${ctxName}" names no cluster with a server URL`);
    this.context = ctxName;
    this.server = cluster.server.replace(/\/+$/, "");
    this.tokenFile = tokenFiles(opts.kubeconfig).get(ctx.user) ?? null;

    const auth: SecurityAuthentication = {
      getName: () => "hindsight kubeconfig",
      applySecurityAuthentication: async (rc: RequestContext) => {
        for (const [k, v] of Object.entries((await this.auth()).headers)) rc.setHeaderParam(k, v);
      },
    };
    const httpApi = wrapHttpLibrary({ send: (rc) => this.send(rc) });
    const config = createConfiguration({ baseServer: new ServerConfiguration(this.server, {}), authMethods: { default: auth }, httpApi });
    this.custom = new CustomObjectsApi(config);
    this.apis = new ApisApi(config);
  }

  /** Headers and TLS options for a request: client-node's applyOptions, token files re-read every minute. */
  private async auth(): Promise<Auth> {
    const now = Date.now();
    if (this.authCache && now - this.authCache.at < 10_000) return this.authCache.auth;
    const o: {
      headers?: Record<string, string>;
      ca?: unknown;
      cert?: unknown;
      key?: unknown;
      rejectUnauthorized?: boolean;
      servername?: string;
    } = { headers: {} };
    // applyOptions is private in client-node's typings but is the one call that gathers
    // TLS material and credentials (token, exec plugin, OIDC) without building an agent.
    await (this.kc as unknown as { applyOptions(o: object): Promise<void> }).applyOptions(o);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) headers[k] = String(v).trim();
    if (this.tokenFile) {
      if (!this.tokenCache || now - this.tokenCache.readAt > 60_000) {
        this.tokenCache = { token: readFileSync(this.tokenFile, "utf8").trim(), readAt: now };
      }
      headers.Authorization = `Bearer ${this.tokenCache.token}`;
    }
    const user = this.kc.getCurrentUser();
    if (user?.username && !headers.Authorization) {
      headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64")}`;
    }
    const tls: TlsOptions = {};
    const ca = toText(o.ca);
    const cert = toText(o.cert);
    const key = toText(o.key);
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    if (o.rejectUnauthorized === false) tls.rejectUnauthorized = false;
    if (o.servername) tls.serverName = o.servername;
    const auth = { headers, tls };
    this.authCache = { auth, at: now };
    return auth;
  }

  /** Forget cached credentials (after a 401: an exec plugin or token file may have a new one). */
  resetAuth(): void {
    this.authCache = null;
    this.tokenCache = null;
  }

  /**
   * Sends a request with the client's timeout, cut short by `cancel` too: a
   * stopping watcher must not wait out a minute-long list page.
   */
  private async send(rc: RequestContext, cancel?: AbortSignal): Promise<ResponseContext> {
    const { tls } = await this.auth();
    const body = rc.getBody();
    const signal = AbortSignal.any([AbortSignal.timeout(this.requestTimeoutMs), ...[rc.getSignal(), cancel].filter((s) => s !== undefined)]);
    const resp = await fetch(rc.getUrl(), {
      method: rc.getHttpMethod().toString(),
      headers: rc.getHeaders(),
      body: body === undefined ? undefined : (body as string),
      signal,
      tls,
    } as RequestInit);
    const headers: Record<string, string> = {};
    resp.headers.forEach((v, k) => (headers[k] = v));
    return new ResponseContext(resp.status, headers, {
      text: () => resp.text(),
      binary: async () => Buffer.from(await resp.arrayBuffer()),
      stream: () => resp.body,
    });
  }

  /** Per-call options that send through `send` with `cancel` as well as the timeout. */
  private cancellable(cancel: AbortSignal | undefined): ConfigurationOptions | undefined {
    return cancel ? { httpApi: wrapHttpLibrary({ send: (rc) => this.send(rc, cancel) }) } : undefined;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const ke = toKubeError(this.name, this.server, e);
      if (ke.status === 401) this.resetAuth();
      throw ke;
    }
  }

  /** Versions the API group serves (discovery), e.g. ["v1", "v1beta1"]; [] when the group is absent. */
  async servedVersions(group: string, cancel?: AbortSignal): Promise<string[]> {
    const list = await this.call(() => this.apis.getAPIVersions({}, this.cancellable(cancel)));
    const g = list.groups.find((x) => x.name === group);
    return g ? g.versions.map((v) => v.version) : [];
  }

  /** One page of a list; `cancel` aborts it (with a KubeError). */
  async list(gvr: Gvr, opts: { namespace: string | null; limit: number; continue: string | null; labelSelector?: string; cancel?: AbortSignal }): Promise<ListPage> {
    const common = {
      group: gvr.group,
      version: gvr.version,
      plural: gvr.plural,
      limit: opts.limit,
      ...(opts.continue ? { _continue: opts.continue } : {}),
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    };
    const body = (await this.call(() =>
      opts.namespace
        ? this.custom.listNamespacedCustomObject({ ...common, namespace: opts.namespace }, this.cancellable(opts.cancel))
        : this.custom.listClusterCustomObject(common, this.cancellable(opts.cancel)),
    )) as { items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? "", continue: body.metadata?.continue || null };
  }

  async get(gvr: Gvr, namespace: string, name: string): Promise<KubeObject | null> {
    try {
      return (await this.call(() => this.custom.getNamespacedCustomObject({ group: gvr.group, version: gvr.version, plural: gvr.plural, namespace, name }))) as KubeObject;
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return null;
      throw e;
    }
  }

  /** JSON merge patch (RFC 7386). A `metadata.resourceVersion` in the patch makes it conditional (409 on mismatch). */
  async mergePatch(gvr: Gvr, namespace: string, name: string, patch: object): Promise<KubeObject> {
    return (await this.call(() =>
      this.custom.patchNamespacedCustomObject(
        { group: gvr.group, version: gvr.version, plural: gvr.plural, namespace, name, body: patch },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    )) as KubeObject;
  }

  /** Deletes with preconditions; "absent" when already gone, "conflict" when a precondition failed. */
  async delete(gvr: Gvr, namespace: string, name: string, pre: { uid: string; resourceVersion?: string }): Promise<"deleted" | "absent" | "conflict"> {
    try {
      await this.call(() =>
        this.custom.deleteNamespacedCustomObject({
          group: gvr.group,
          version: gvr.version,
          plural: gvr.plural,
          namespace,
          name,
          body: { preconditions: pre, propagationPolicy: "Background" },
        }),
      );
      return "deleted";
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return "absent";
      if (e instanceof KubeError && e.status === 409) return "conflict";
      throw e;
    }
  }

  /** A GET of raw JSON or text on the cluster (core/v1 Events, Pod logs), through the same auth and TLS. */
  async raw(path: string, opts: { accept?: string } = {}): Promise<{ status: number; text: string }> {
    return this.call(async () => {
      const a = await this.auth();
      const resp = await fetch(`${this.server}${path}`, {
        headers: { ...a.headers, Accept: opts.accept ?? "application/json" },
        signal: AbortSignal.timeout(this.requestTimeoutMs),
        tls: a.tls,
      } as RequestInit);
      const text = await resp.text();
      if (resp.status >= 400) throw new ApiException(resp.status, "request failed", text, {});
      return { status: resp.status, text };
    });
  }

  /**
   * A POST of a JSON document through the same auth and TLS, answered with
   * the parsed JSON (TokenReview and SubjectAccessReview, for auth mode
   * kubernetes: "create" calls that store nothing). Throws a KubeError.
   */
  async postJson(path: string, body: unknown): Promise<unknown> {
    return this.call(async () => {
      const a = await this.auth();
      const resp = await fetch(`${this.server}${path}`, {
        method: "POST",
        headers: { ...a.headers, Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
        tls: a.tls,
      } as RequestInit);
      const text = await resp.text();
      if (resp.status >= 400) throw new ApiException(resp.status, "request failed", text, {});
      return JSON.parse(text) as unknown;
    });
  }

  /** core/v1 Events in a namespace matching a field selector, as raw objects. */
  async listEvents(namespace: string, fieldSelector: string): Promise<KubeObject[]> {
    const r = await this.raw(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events?fieldSelector=${encodeURIComponent(fieldSelector)}`);
    return ((JSON.parse(r.text) as { items?: KubeObject[] }).items ?? []);
  }

  /** A container's log (the seam for log capture). */
  async podLog(namespace: string, pod: string, container: string): Promise<string> {
    const r = await this.raw(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?container=${encodeURIComponent(container)}`, {
      accept: "text/plain",
    });
    return r.text;
  }

  /**
   * A container's log as a byte stream (spec §8.6): `timestamps` prefixes
   * each line with its RFC 3339 time, `sinceTime` (whole seconds) skips
   * older lines, `follow` keeps the stream open until the container ends.
   * Throws a KubeError for HTTP errors (404: pod gone; 400: container not
   * started or unknown) and network errors; ends normally when the server
   * ends the stream. Chunks are read only as fast as the caller consumes them.
   */
  async *podLogStream(
    namespace: string,
    pod: string,
    container: string,
    o: { follow: boolean; timestamps: boolean; sinceTime?: string; signal: AbortSignal },
  ): AsyncGenerator<Uint8Array> {
    const q = new URLSearchParams({ container });
    if (o.follow) q.set("follow", "true");
    if (o.timestamps) q.set("timestamps", "true");
    if (o.sinceTime) q.set("sinceTime", o.sinceTime);
    const url = `${this.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${q}`;
    let resp: Response;
    try {
      const a = await this.auth();
      resp = await fetch(url, { headers: { ...a.headers, Accept: "text/plain" }, signal: o.signal, tls: a.tls } as RequestInit);
    } catch (e) {
      throw toKubeError(this.name, this.server, e);
    }
    if (resp.status !== 200) {
      const text = await resp.text().catch(() => "");
      const ke = toKubeError(this.name, this.server, new ApiException(resp.status, "log request failed", text, {}));
      if (ke.status === 401) this.resetAuth();
      throw ke;
    }
    const reader = resp.body!.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw toKubeError(this.name, this.server, e);
        }
        if (chunk.done) return;
        yield chunk.value;
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  /**
   * A watch stream: NDJSON events until the server ends it, the idle timeout
   * fires, or `signal` aborts. Ends normally on a server-side close; throws a
   * KubeError for HTTP errors, network errors and idle timeouts.
   */
  async *watch(gvr: Gvr, o: WatchOptions): AsyncGenerator<WatchEvent> {
    // Stopped before it began: end as a stop ends a watch, quietly.
    if (o.signal.aborted) return;
    const base = o.namespace
      ? `/apis/${gvr.group}/${gvr.version}/namespaces/${encodeURIComponent(o.namespace)}/${gvr.plural}`
      : `/apis/${gvr.group}/${gvr.version}/${gvr.plural}`;
    const q = new URLSearchParams({ watch: "true", allowWatchBookmarks: "true", resourceVersion: o.resourceVersion, timeoutSeconds: String(o.timeoutSeconds) });
    if (o.labelSelector) q.set("labelSelector", o.labelSelector);
    // Ended by the caller's signal, the idle timer, or the consumer leaving (finally).
    const ctl = new AbortController();
    const signal = AbortSignal.any([o.signal, ctl.signal]);
    let idle: ReturnType<typeof setTimeout> | null = null;
    let idleFired = false;
    const arm = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        idleFired = true;
        ctl.abort(new Error("idle"));
      }, o.idleTimeoutMs);
    };
    try {
      arm();
      let resp: Response;
      try {
        const a = await this.auth();
        resp = await fetch(`${this.server}${base}?${q}`, { headers: a.headers, signal, tls: a.tls } as RequestInit);
      } catch (e) {
        throw this.streamError(e, idleFired);
      }
      if (resp.status !== 200) {
        const text = await resp.text().catch(() => "");
        throw toKubeError(this.name, this.server, new ApiException(resp.status, "watch failed", text, {}));
      }
      const reader = resp.body!.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        // The idle clock runs only while waiting for the server, not while the
        // consumer is busy (a full pipeline is back-pressure, not a dead link).
        arm();
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw this.streamError(e, idleFired);
        }
        if (idle) clearTimeout(idle);
        if (chunk.done) break;
        buf += dec.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === "") continue;
          const ev = parseWatchLine(line);
          if (ev) yield ev;
        }
      }
      const tail = buf.trim();
      if (tail) {
        const ev = parseWatchLine(tail);
        if (ev) yield ev;
      }
    } finally {
      if (idle) clearTimeout(idle);
      ctl.abort();
    }
  }

  private streamError(e: unknown, idle: boolean): KubeError {
    if (idle) return new KubeError(this.name, null, "Idle", `cluster "${this.name}" (${this.server}): watch stream silent for too long`, true);
    return toKubeError(this.name, this.server, e);
  }
}

function parseWatchLine(line: string): WatchEvent | null {
  let o: { type?: string; object?: KubeObject & { code?: number; reason?: string; message?: string } };
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  switch (o.type) {
    case "ADDED":
    case "MODIFIED":
    case "DELETED":
      return o.object ? { type: o.type, object: o.object } : null;
    case "BOOKMARK":
      return { type: "BOOKMARK", resourceVersion: o.object?.metadata?.resourceVersion ?? "" };
    case "ERROR":
      return { type: "ERROR", status: o.object?.code ?? 500, reason: o.object?.reason ?? "", message: o.object?.message ?? "" };
    default:
      return null;
  }
}
