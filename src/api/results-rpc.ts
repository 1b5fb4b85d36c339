/**
 * tekton.results.v1alpha2.Results as transport-free handlers: proto request
 * message in, proto response message out. The gRPC adapter and the REST
 * server both call these, so one request takes one code path whichever way
 * it arrives; they differ only in how bytes become a request message and a
 * response message becomes bytes.
 */
import { create, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import type { ResultsService } from "../core/results-service.ts";
import {
  ListRecordsResponseSchema,
  ListResultsResponseSchema,
  Results,
  type CreateRecordRequest,
  type CreateResultRequest,
  type DeleteRecordRequest,
  type DeleteResultRequest,
  type GetRecordRequest,
  type GetResultRequest,
  type ListRecordsRequest,
  type ListResultsRequest,
  type RecordListSummaryRequest,
  type UpdateRecordRequest,
  type UpdateResultRequest,
} from "../gen/api_pb.ts";
import { RecordListSummarySchema, type Record as RecordMsg } from "../gen/resources_pb.ts";
import { EncodedRecordCache, type Kept } from "./encoded-cache.ts";
import { recordIn, recordOut, resultIn, resultOut } from "./convert.ts";
import { applyFieldMask } from "./field-mask.ts";
import { Authorizer, type Credentials, type Identity } from "../core/auth.ts";
import { ClientLimiter } from "../core/client-limit.ts";
import { toAppError } from "../core/errors.ts";
import { accessOf, hasAccessRule } from "./access.ts";
import { audit } from "./audit.ts";

/**
 * What a call carries besides its request message: gRPC metadata, or the
 * REST headers and parameters that grpc-gateway turns into metadata. The
 * credentials (`authorization`, `impersonate`) are kept for authentication.
 */
export interface CallContext extends Credentials {
  /** Partial-response paths (`fields`), already split and trimmed; empty means the whole response. */
  fields: readonly string[];
  /** The caller's address (host, no port), for the per-client cap; absent or "": not capped. */
  client?: string;
}

export const emptyContext: CallContext = { authorization: "", fields: [] };

/**
 * How a transport encodes a ListRecords answer from pieces: each record on
 * its own (kept in the encoded-record cache under `name`), then the page
 * around the records' bytes. `page(records.map(record), token)` must equal
 * the transport's encoding of the whole response message.
 */
export interface PageEncoding {
  /** Cache namespace; two encodings never share entries. */
  name: string;
  record(r: RecordMsg): Uint8Array;
  page(records: readonly Uint8Array[], nextPageToken: string): Uint8Array;
  /**
   * Called with the page handed to the caller, in the same turn as the
   * cache handed it out, so the page's buffer is not reused before the
   * transport has sent it (grpc/page-buffers.ts).
   */
  hold?(page: Uint8Array): void;
}

/** One RPC: its descriptor (request/response types, HTTP rule) and its handler. */
export interface Rpc {
  method: DescMethod;
  call(req: MessageShape<DescMessage>, ctx: CallContext): Promise<MessageShape<DescMessage>>;
  /**
   * ListRecords only: the answer already encoded, from cached record
   * encodings where the listed state is cached. Null when the call takes a
   * partial-response mask (then `call` answers). Same bytes as `call`
   * followed by the transport's encoder.
   */
  encoded?(req: MessageShape<DescMessage>, ctx: CallContext, enc: PageEncoding): Promise<Uint8Array | null>;
}

/**
 * ListRecords as encoded bytes. Records are listed with a hold on the cache:
 * one held in the listed state is taken from it (the store reads nothing of
 * it), the others are converted, encoded and kept.
 */
async function listRecordsEncoded(svc: ResultsService, cache: EncodedRecordCache, req: ListRecordsRequest, scope: Scope, enc: PageEncoding): Promise<Uint8Array> {
  const asked = new Set<string>();
  const page = await svc.listRecords({ ...req, scope }, (uid, etag) => {
    asked.add(uid);
    return cache.get(enc.name, uid, etag);
  });
  const parts = page.items.map((r): Kept => {
    if ("held" in r) return r.held;
    // A list run on a reader thread returns whole rows without asking: look them up here.
    return (asked.has(r.uid) ? undefined : cache.get(enc.name, r.uid, r.etag)) ?? cache.keep(enc.name, r.uid, r.etag, enc.record(recordOut(r)));
  });
  // The scope is part of the key: two callers with different parents never share a page.
  const key = `${enc.name}\u0000${req.parent}\u0000${req.filter}\u0000${req.pageSize}\u0000${req.pageToken}\u0000${req.orderBy}\u0000${scope?.join(",") ?? "*"}`;
  const bytes = cache.page(key, parts, page.nextPageToken, () =>
    enc.page(
      parts.map((p) => p.bytes),
      page.nextPageToken,
    ),
  );
  enc.hold?.(bytes);
  return bytes;
}

/** Parent globs a "-" list is limited to; null = every parent. */
type Scope = readonly string[] | null;

/** The core calls per RPC (keyed by the method's localName). */
function handlers(svc: ResultsService) {
  return {
    createResult: async (req: CreateResultRequest) => resultOut(await svc.createResult(req.parent, resultIn(req.result))),
    getResult: async (req: GetResultRequest) => resultOut(await svc.getResult(req.name)),
    updateResult: async (req: UpdateResultRequest) => resultOut(await svc.updateResult(req.name, resultIn(req.result), req.etag)),
    deleteResult: async (req: DeleteResultRequest) => {
      await svc.deleteResult(req.name);
      return create(EmptySchema);
    },
    listResults: async (req: ListResultsRequest, scope: Scope) => {
      const page = await svc.listResults({ ...req, scope });
      return create(ListResultsResponseSchema, { results: page.items.map(resultOut), nextPageToken: page.nextPageToken });
    },
    // The stored value of a new record is the submitted text itself (Log
    // records excepted, which are normalised), so this echoes the request.
    createRecord: async (req: CreateRecordRequest) => recordOut(await svc.createRecord(req.parent, recordIn(req.record))),
    getRecord: async (req: GetRecordRequest) => recordOut(await svc.getRecord(req.name)),
    updateRecord: async (req: UpdateRecordRequest) => recordOut(await svc.updateRecord(recordIn(req.record), req.etag)),
    deleteRecord: async (req: DeleteRecordRequest) => {
      await svc.deleteRecord(req.name);
      return create(EmptySchema);
    },
    listRecords: async (req: ListRecordsRequest, scope: Scope) => {
      const page = await svc.listRecords({ ...req, scope });
      return create(ListRecordsResponseSchema, { records: page.items.map(recordOut), nextPageToken: page.nextPageToken });
    },
    getRecordListSummary: async (req: RecordListSummaryRequest, scope: Scope) => {
      const rows = await svc.summarizeRecords({ ...req, scope });
      // Struct fields are plain JSON objects in the generated code.
      return create(RecordListSummarySchema, { summary: rows });
    },
  } satisfies Record<string, (req: never, scope: Scope) => Promise<unknown>>;
}

const DENIALS = new Set(["unauthenticated", "permission_denied", "unavailable", "resource_exhausted"]);

/**
 * Runs one call behind the authorizer: the check comes first (before any
 * lookup), then the handler with the caller's list scope. Writes, deletes
 * and every refusal are audited.
 */
export async function guarded<T>(
  authz: Authorizer,
  limiter: ClientLimiter,
  method: Pick<DescMethod, "localName" | "name">,
  req: unknown,
  ctx: CallContext,
  run: (scope: Scope, identity: Identity) => Promise<T>,
): Promise<T> {
  const access = accessOf(method.localName, req);
  let identity = "-";
  let release = noop;
  try {
    // First, so that a flood of calls (with or without credentials) costs nothing past the cap.
    release = limiter.acquire(ctx.client ?? "");
    const who = await authz.identify(ctx);
    identity = who.name;
    const granted = await authz.permit(who, access);
    if (access.action === "read") return await run(granted.scope, who);
    const res = await run(granted.scope, who);
    // In mode none every caller is the same anonymous admin on loopback: an
    // "ok" line per write would say nothing and cost the ingest path a log write.
    if (authz.enabled) audit({ identity, method: method.name, resource: access.resource, outcome: "ok" });
    return res;
  } catch (e) {
    const code = toAppError(e).code;
    if (DENIALS.has(code)) audit({ identity, method: method.name, resource: access.resource, outcome: "denied", code });
    else if (access.action !== "read") audit({ identity, method: method.name, resource: access.resource, outcome: code });
    throw e;
  } finally {
    release();
  }
}

const noop = () => {};

/**
 * Every Results RPC, keyed by localName (`createResult`, ...). Each applies
 * the `fields` mask of its context to the response, as upstream's interceptor
 * does for every unary call.
 */
export function resultsRpc(
  svc: ResultsService,
  cache: EncodedRecordCache = new EncodedRecordCache(0),
  authz: Authorizer = new Authorizer(null),
  limiter: ClientLimiter = new ClientLimiter(0),
): Map<string, Rpc> {
  const impls = handlers(svc) as Record<string, (req: never, scope: Scope) => Promise<MessageShape<DescMessage>>>;
  const out = new Map<string, Rpc>();
  for (const method of Results.methods) {
    const impl = impls[method.localName];
    if (!impl || !hasAccessRule(method.localName)) throw new Error(`no handler or access rule for ${Results.typeName}/${method.name}`);
    const rpc: Rpc = {
      method,
      async call(req, ctx) {
        const res = await guarded(authz, limiter, method, req, ctx, (scope) => impl(req as never, scope));
        return ctx.fields.length > 0 ? applyFieldMask(method.output, res, ctx.fields) : res;
      },
    };
    if (method.localName === "listRecords") {
      // A mask prunes the response message, so it takes `call`.
      rpc.encoded = (req, ctx, enc) =>
        ctx.fields.length > 0 ? Promise.resolve(null) : guarded(authz, limiter, method, req, ctx, (scope) => listRecordsEncoded(svc, cache, req as ListRecordsRequest, scope, enc));
    }
    out.set(method.localName, rpc);
  }
  return out;
}
