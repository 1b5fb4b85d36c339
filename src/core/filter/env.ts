/**
 * The CEL environments filters are checked in (spec §4.1), a superset of
 * upstream's: Records also get `uid`, `create_time` and `update_time`.
 * `data` is dynamic JSON; everything else has a static type, so a filter
 * like `parent` (not boolean) or `id` (undeclared) fails at compile time.
 */
import { Environment } from "@marcbachmann/cel-js";

/**
 * "logs" is ListLogs: the records environment, but `name` is the full record
 * name ("p/results/r/records/x"), as upstream's ListLogs filters see it.
 */
export type FilterTarget = "results" | "records" | "logs";

export const RUN_TYPE_CONSTANTS = {
  PIPELINE_RUN: "tekton.dev/v1.PipelineRun",
  TASK_RUN: "tekton.dev/v1.TaskRun",
} as const;

export const STATUS_CONSTANTS = { UNKNOWN: 0n, SUCCESS: 1n, FAILURE: 2n, TIMEOUT: 3n, CANCELLED: 4n } as const;

const LIMITS = { maxAstNodes: 2000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 100, maxCallArguments: 8 };

function base(): Environment {
  return new Environment({ limits: LIMITS, homogeneousAggregateLiterals: false });
}

function withRunTypes(env: Environment): Environment {
  for (const [k, v] of Object.entries(RUN_TYPE_CONSTANTS)) env.registerConstant(k, "string", v);
  return env;
}

let results: Environment | undefined;
let records: Environment | undefined;

export function environment(target: FilterTarget): Environment {
  if (target === "results") {
    if (!results) {
      const env = base()
        .registerType("tekton.results.v1alpha2.RecordSummary", {
          fields: {
            record: "string",
            type: "string",
            start_time: "google.protobuf.Timestamp",
            end_time: "google.protobuf.Timestamp",
            status: "int",
            annotations: "map<string, string>",
          },
        })
        .registerVariable("parent", "string")
        .registerVariable("uid", "string")
        .registerVariable("annotations", "map<string, string>")
        .registerVariable("summary", "tekton.results.v1alpha2.RecordSummary")
        .registerVariable("create_time", "google.protobuf.Timestamp")
        .registerVariable("update_time", "google.protobuf.Timestamp");
      withRunTypes(env);
      for (const [k, v] of Object.entries(STATUS_CONSTANTS)) env.registerConstant(k, "int", v);
      results = env;
    }
    return results;
  }
  if (!records) {
    records = withRunTypes(
      base()
        .registerVariable("parent", "string")
        .registerVariable("result_name", "string")
        .registerVariable("name", "string")
        .registerVariable("uid", "string")
        .registerVariable("data_type", "string")
        .registerVariable("data", "dyn")
        .registerVariable("create_time", "google.protobuf.Timestamp")
        .registerVariable("update_time", "google.protobuf.Timestamp"),
    );
  }
  return records;
}
