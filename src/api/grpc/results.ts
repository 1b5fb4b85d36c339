/**
 * tekton.results.v1alpha2.Results over gRPC: the shared handlers of
 * src/api/results-rpc.ts behind grpc-js. The call context comes from the
 * metadata: `authorization`, `impersonate-*` (spec §6.4), and `fields` for
 * partial responses.
 */
import type * as grpc from "@grpc/grpc-js";
import type { ResultsService } from "../../core/results-service.ts";
import { Results } from "../../gen/api_pb.ts";
import { parseFieldPaths } from "../field-mask.ts";
import { resultsRpc, type CallContext } from "../results-rpc.ts";
import { unaryService, type UnaryImpl } from "./adapter.ts";
import type { EncodedRecordCache } from "../encoded-cache.ts";
import { binaryPage } from "./list-page.ts";
import type { Authorizer, ImpersonateHeader } from "../../core/auth.ts";
import { clientHost, type ClientLimiter } from "../../core/client-limit.ts";

export function callContext(md: grpc.Metadata, peer = ""): CallContext {
  const auth = md.get("authorization");
  const ctx: CallContext = {
    client: clientHost(peer),
    authorization: typeof auth[0] === "string" ? auth[0] : "",
    fields: parseFieldPaths(md.get("fields").filter((v): v is string => typeof v === "string")),
  };
  const impersonate = impersonateMetadata(md);
  if (impersonate.length > 0) ctx.impersonate = impersonate;
  return ctx;
}

/** Every `impersonate-*` entry (metadata keys are lower-case; a repeated key may arrive joined by ", ", see src/kube-auth/impersonation.ts). */
function impersonateMetadata(md: grpc.Metadata): ImpersonateHeader[] {
  const out: ImpersonateHeader[] = [];
  for (const key of Object.keys(md.getMap())) {
    if (!key.startsWith("impersonate-")) continue;
    for (const v of md.get(key)) if (typeof v === "string") out.push([key, v]);
  }
  return out;
}

/**
 * `cache`: the encoded-record cache ListRecords answers from (shared with
 * REST; entries are kept per encoding). `authz`: checks every call (none
 * when absent: auth mode `none`).
 */
export function resultsService(svc: ResultsService, cache?: EncodedRecordCache, authz?: Authorizer, limiter?: ClientLimiter) {
  const impls: Record<string, UnaryImpl> = {};
  for (const [name, rpc] of resultsRpc(svc, cache, authz, limiter)) {
    const encoded = rpc.encoded;
    impls[name] = encoded
      ? async (req, call) => {
          const ctx = callContext(call.metadata, call.getPeer());
          return (await encoded(req, ctx, binaryPage)) ?? (await rpc.call(req, ctx));
        }
      : (req, call) => rpc.call(req, callContext(call.metadata, call.getPeer()));
  }
  return unaryService(Results, impls);
}
