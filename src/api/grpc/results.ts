/**
 * tekton.results.v1alpha2.Results over gRPC: decode, call the core, encode.
 * Nothing else happens here; semantics live in the core.
 */
import { create } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { RecordListSummarySchema } from "../../gen/resources_pb.ts";
import type { ResultsService } from "../../core/results-service.ts";
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
} from "../../gen/api_pb.ts";
import { recordIn, recordOut, resultIn, resultOut } from "../convert.ts";
import { unaryService } from "./adapter.ts";

export function resultsService(svc: ResultsService) {
  return unaryService(Results, {
    createResult: async (req: CreateResultRequest) => resultOut(await svc.createResult(req.parent, resultIn(req.result))),
    getResult: async (req: GetResultRequest) => resultOut(await svc.getResult(req.name)),
    updateResult: async (req: UpdateResultRequest) =>
      resultOut(await svc.updateResult(req.name, resultIn(req.result), req.etag)),
    deleteResult: async (req: DeleteResultRequest) => {
      await svc.deleteResult(req.name);
      return create(EmptySchema);
    },
    listResults: async (req: ListResultsRequest) => {
      const page = await svc.listResults(req);
      return create(ListResultsResponseSchema, {
        results: page.items.map(resultOut),
        nextPageToken: page.nextPageToken,
      });
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
      return create(ListRecordsResponseSchema, {
        records: page.items.map(recordOut),
        nextPageToken: page.nextPageToken,
      });
    },
    getRecordListSummary: async (req: RecordListSummaryRequest) => {
      const rows = await svc.summarizeRecords(req);
      // Struct fields are plain JSON objects in the generated code.
      return create(RecordListSummarySchema, { summary: rows });
    },
  });
}
