/**
 * tekton.results.v1alpha2.Logs' unary RPCs (ListLogs, DeleteLog) as
 * transport-free handlers, like results-rpc.ts: gRPC and the derived REST
 * routes both call these. The streaming RPCs (GetLog, UpdateLog) have one
 * implementation per transport (src/api/grpc/logs.ts, src/api/rest/log-routes.ts)
 * over the same core calls.
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import type { LogsService } from "../core/logs-service.ts";
import { formatLogName } from "../core/names.ts";
import { ListRecordsResponseSchema, Logs, type DeleteLogRequest, type ListRecordsRequest } from "../gen/api_pb.ts";
import { recordOut } from "./convert.ts";
import { applyFieldMask } from "./field-mask.ts";
import type { Rpc } from "./results-rpc.ts";

export function logsRpc(svc: LogsService): Map<string, Rpc> {
  const impls: Record<string, (req: never) => Promise<MessageShape<DescMessage>>> = {
    // Records come back under their log names (`…/logs/<id>`), as upstream's ListLogs answers.
    listLogs: async (req: ListRecordsRequest) => {
      const page = await svc.listLogs(req);
      const records = page.items.map((r) => {
        const m = recordOut(r);
        m.name = formatLogName(r.parent, r.resultName, r.name);
        return m;
      });
      return create(ListRecordsResponseSchema, { records, nextPageToken: page.nextPageToken });
    },
    deleteLog: async (req: DeleteLogRequest) => {
      await svc.deleteLog(req.name);
      return create(EmptySchema);
    },
  };
  const out = new Map<string, Rpc>();
  for (const method of Logs.methods) {
    const impl = impls[method.localName];
    if (!impl) continue;
    out.set(method.localName, {
      method,
      async call(req, ctx) {
        const res = await impl(req as never);
        return ctx.fields.length > 0 ? applyFieldMask(method.output, res, ctx.fields) : res;
      },
    });
  }
  return out;
}
