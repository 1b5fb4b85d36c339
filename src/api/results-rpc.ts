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
import { RecordListSummarySchema } from "../gen/resources_pb.ts";
import { recordIn, recordOut, resultIn, resultOut } from "./convert.ts";
import { applyFieldMask } from "./field-mask.ts";

/**
 * What a call carries besides its request message: gRPC metadata, or the
 * REST headers and parameters that grpc-gateway turns into metadata.
 */
export interface CallContext {
  /** The `authorization` metadata / `Authorization` header, "" when absent; kept for authentication. */
  authorization: string;
  /** Partial-response paths (`fields`), already split and trimmed; empty means the whole response. */
  fields: readonly string[];
}

export const emptyContext: CallContext = { authorization: "", fields: [] };

/** One RPC: its descriptor (request/response types, HTTP rule) and its handler. */
export interface Rpc {
  method: DescMethod;
  call(req: MessageShape<DescMessage>, ctx: CallContext): Promise<MessageShape<DescMessage>>;
}

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
    listResults: async (req: ListResultsRequest) => {
      const page = await svc.listResults(req);
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
    listRecords: async (req: ListRecordsRequest) => {
      const page = await svc.listRecords(req);
      return create(ListRecordsResponseSchema, { records: page.items.map(recordOut), nextPageToken: page.nextPageToken });
    },
    getRecordListSummary: async (req: RecordListSummaryRequest) => {
      const rows = await svc.summarizeRecords(req);
      // Struct fields are plain JSON objects in the generated code.
      return create(RecordListSummarySchema, { summary: rows });
    },
  } satisfies Record<string, (req: never) => Promise<unknown>>;
}

/**
 * Every Results RPC, keyed by localName (`createResult`, ...). Each applies
 * the `fields` mask of its context to the response, as upstream's interceptor
 * does for every unary call.
 */
export function resultsRpc(svc: ResultsService): Map<string, Rpc> {
  const impls = handlers(svc) as Record<string, (req: never) => Promise<MessageShape<DescMessage>>>;
  const out = new Map<string, Rpc>();
  for (const method of Results.methods) {
    const impl = impls[method.localName];
    if (!impl) throw new Error(`no handler for ${Results.typeName}/${method.name}`);
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
