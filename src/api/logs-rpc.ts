/**
 * tekton.results.v1alpha2.Logs' unary RPCs (ListLogs, DeleteLog) as
 * transport-free handlers, like results-rpc.ts: gRPC and the derived REST
 * routes both call these. The streaming RPCs (GetLog, UpdateLog) have one
 * implementation per transport (src/api/grpc/logs.ts, src/api/rest/log-routes.ts)
 * over the same core calls.
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { Authorizer, globMatches } from "../core/auth.ts";
import { ClientLimiter } from "../core/client-limit.ts";
import type { LogMessage, LogsService, OpenLog } from "../core/logs-service.ts";
import { formatLogName } from "../core/names.ts";
import { ListRecordsResponseSchema, Logs, type DeleteLogRequest, type ListRecordsRequest } from "../gen/api_pb.ts";
import { recordOut } from "./convert.ts";
import { applyFieldMask } from "./field-mask.ts";
import { accessOf } from "./access.ts";
import { guarded, type CallContext, type Rpc } from "./results-rpc.ts";

type Scope = readonly string[] | null;

export function logsRpc(svc: LogsService, authz: Authorizer = new Authorizer(null), limiter: ClientLimiter = new ClientLimiter(0)): Map<string, Rpc> {
  const impls: Record<string, (req: never, scope: Scope) => Promise<MessageShape<DescMessage>>> = {
    // Records come back under their log names (`…/logs/<id>`), as upstream's ListLogs answers.
    listLogs: async (req: ListRecordsRequest, scope: Scope) => {
      const page = await svc.listLogs({ ...req, scope });
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
        const res = await guarded(authz, limiter, method, req, ctx, (scope) => impl(req as never, scope));
        return ctx.fields.length > 0 ? applyFieldMask(method.output, res, ctx.fields) : res;
      },
    });
  }
  return out;
}

/**
 * The streaming Logs calls behind the same authorizer and per-client cap as
 * the unary ones; each transport streams the bytes its own way.
 */
export class LogAccess {
  constructor(
    private readonly svc: LogsService,
    private readonly authz: Authorizer = new Authorizer(null),
    private readonly limiter: ClientLimiter = new ClientLimiter(0),
  ) {}

  /** GetLog: checks the call, opens the log and runs `send` over it (the cap holds until `send` ends). */
  getLog<T>(name: string, ctx: CallContext, opts: { acceptRecordNames?: boolean }, send: (log: OpenLog) => Promise<T>): Promise<T> {
    return guarded(this.authz, this.limiter, { localName: "getLog", name: "GetLog" }, { name }, ctx, async () => send(await this.svc.openLog(name, opts)));
  }

  /** The Dashboard's route: the newest capture of a container among the parents the caller may read. */
  containerLog<T>(namespace: string, pod: string, container: string, ctx: CallContext, send: (log: OpenLog) => Promise<T>): Promise<T> {
    return guarded(this.authz, this.limiter, { localName: "containerLog", name: "DashboardLog" }, { parent: "-" }, ctx, async (scope) => {
      const mayRead = scope === null ? undefined : (parent: string) => scope.some((g) => globMatches(g, parent));
      return send(await this.svc.openContainerLog(namespace, pod, container, mayRead));
    });
  }

  /**
   * UpdateLog: the first message's log decides the audit line and the first
   * check; every later message is checked too (the service refuses a stream
   * that names two logs, but the check comes first and costs nothing).
   */
  async updateLog(messages: AsyncIterable<LogMessage>, ctx: CallContext): Promise<{ record: string; bytesReceived: number }> {
    const it = messages[Symbol.asyncIterator]();
    const first = await it.next();
    const firstName = first.done ? "" : first.value.name;
    return guarded(this.authz, this.limiter, { localName: "updateLog", name: "UpdateLog" }, { name: firstName }, ctx, async (_scope, who) => {
      const authz = this.authz;
      async function* checked(): AsyncGenerator<LogMessage> {
        if (first.done) return;
        yield first.value;
        for (let m = await it.next(); !m.done; m = await it.next()) {
          if (m.value.name !== firstName) await authz.permit(who, accessOf("updateLog", { name: m.value.name }));
          yield m.value;
        }
      }
      return this.svc.updateLog(checked());
    });
  }
}
