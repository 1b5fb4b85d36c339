import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SummaryStatus, type ResultResource } from "../core/types.ts";
import {
  ANNOTATION,
  checkParentTemplate,
  desiredResult,
  eventListNameOf,
  isDone,
  isTopLevel,
  recordNameOf,
  recordTypeOf,
  recordValueOf,
  renderParent,
  resultNameOf,
  summaryStatusOf,
  uuidMd5,
  type KubeObject,
  type MappingOptions,
} from "./mapping.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/real");
const opts: MappingOptions = { cluster: "prod", parentOf: (ns) => ns, summaryLabels: ["tekton.dev/pipeline"], summaryAnnotations: [] };

function run(over: { kind?: string; meta?: Record<string, unknown>; reason?: string; status?: string; start?: string; end?: string } = {}): KubeObject {
  return {
    apiVersion: "tekton.dev/v1",
    kind: over.kind ?? "TaskRun",
    metadata: { name: "r", namespace: "ns", uid: "u1", ...over.meta },
    spec: {},
    status: {
      conditions: over.reason || over.status ? [{ type: "Succeeded", status: over.status ?? "True", reason: over.reason }] : [],
      ...(over.start ? { startTime: over.start } : {}),
      ...(over.end ? { completionTime: over.end } : {}),
    },
  };
}

describe("names (spec §8.2)", () => {
  test("standalone run: its own uid, record under it", () => {
    const o = run();
    expect(resultNameOf(o, opts)).toBe("ns/results/u1");
    expect(recordNameOf(o, "ns/results/u1")).toBe("ns/results/u1/records/u1");
  });
  test("owned by a PipelineRun: the owner's uid (kind compared case-insensitively)", () => {
    const o = run({ meta: { ownerReferences: [{ apiVersion: "tekton.dev/v1", kind: "pipelinerun", name: "p", uid: "P" }] } });
    expect(resultNameOf(o, opts)).toBe("ns/results/P");
    expect(recordNameOf(o, "ns/results/P")).toBe("ns/results/P/records/u1");
  });
  test("triggers event id wins over the owner", () => {
    const o = run({ meta: { labels: { "triggers.tekton.dev/triggers-eventid": "e1" }, ownerReferences: [{ kind: "PipelineRun", uid: "P" }] } });
    expect(resultNameOf(o, opts)).toBe("ns/results/e1");
  });
  test("the result annotation wins over everything, verbatim (parent included)", () => {
    const o = run({ meta: { annotations: { [ANNOTATION.result]: "other/results/x" }, labels: { "triggers.tekton.dev/triggers-eventid": "e1" } } });
    expect(resultNameOf(o, opts)).toBe("other/results/x");
  });
  test("the record annotation counts on top-level objects only", () => {
    const ann = { [ANNOTATION.record]: "ns/results/P/records/P" };
    expect(recordNameOf(run({ meta: { annotations: ann } }), "ns/results/u1")).toBe("ns/results/P/records/P");
    const owned = run({ meta: { annotations: ann, ownerReferences: [{ apiVersion: "tekton.dev/v1", kind: "PipelineRun", uid: "P" }] } });
    expect(recordNameOf(owned, "ns/results/P")).toBe("ns/results/P/records/u1");
  });
  test("a parent template renders to a valid segment", () => {
    const p = (ns: string) => renderParent("{cluster}-{namespace}", "arn:aws:eks:eu-west-1:123:cluster/Prod", ns);
    expect(p("ci")).toMatch(/^[a-z0-9_-]{1,63}$/);
    expect(resultNameOf(run(), { parentOf: p })).toBe(`${p("ns")}/results/u1`);
    expect(renderParent("{cluster}-{namespace}", "kind-a", "ci")).toBe("kind-a-ci");
    expect(renderParent("{namespace}", "x", "team-a")).toBe("team-a");
    // Two long names that share a 54-character prefix stay apart.
    const long = "c".repeat(70);
    expect(renderParent("{cluster}{namespace}", long, "a")).not.toBe(renderParent("{cluster}{namespace}", long, "b"));
    expect(renderParent("{cluster}{namespace}", long, "a").length).toBeLessThanOrEqual(63);
    expect(checkParentTemplate("{cluster}-{ns}")).toMatch(/unknown placeholder \{ns\}/);
    expect(checkParentTemplate("{cluster}-{namespace}")).toBeNull();
  });
  test("top-level means no Tekton owner: a PipelineRun owned by a Component is top-level", () => {
    expect(isTopLevel(run({ meta: { ownerReferences: [{ apiVersion: "appstudio.redhat.com/v1alpha1", kind: "Component", uid: "C" }] } }))).toBe(true);
    expect(isTopLevel(run({ meta: { ownerReferences: [{ apiVersion: "tekton.dev/v1beta1", kind: "PipelineRun", uid: "P" }] } }))).toBe(false);
  });
});

describe("record content (spec §8.3)", () => {
  test("type is <apiVersion>.<Kind>; value is the whole object, apiVersion and kind filled in first", () => {
    const o = run({ kind: "PipelineRun" });
    expect(recordTypeOf(o)).toBe("tekton.dev/v1.PipelineRun");
    expect(recordTypeOf({ ...o, apiVersion: "tekton.dev/v1beta1", kind: "CustomRun" })).toBe("tekton.dev/v1beta1.CustomRun");
    const bare = { metadata: { uid: "x" }, status: {} };
    expect(recordValueOf(bare, "tekton.dev/v1", "TaskRun")).toBe('{"apiVersion":"tekton.dev/v1","kind":"TaskRun","metadata":{"uid":"x"},"status":{}}');
    expect(recordValueOf(o, "ignored", "ignored")).toBe(JSON.stringify(o));
  });
});

describe("status mapping (spec §8.4 table, §14.23 fixed; check 99)", () => {
  const cases: Array<[string | undefined, string, number]> = [
    ["Succeeded", "True", SummaryStatus.SUCCESS],
    ["Completed", "True", SummaryStatus.SUCCESS],
    ["Failed", "False", SummaryStatus.FAILURE],
    ["TaskRunTimeout", "False", SummaryStatus.TIMEOUT],
    ["PipelineRunTimeout", "False", SummaryStatus.TIMEOUT],
    ["TaskRunCancelled", "False", SummaryStatus.CANCELLED],
    ["Cancelled", "False", SummaryStatus.CANCELLED],
    ["PipelineRunCancelled", "False", SummaryStatus.CANCELLED],
    ["Running", "Unknown", SummaryStatus.UNKNOWN],
    ["Started", "Unknown", SummaryStatus.UNKNOWN],
    ["Pending", "Unknown", SummaryStatus.UNKNOWN],
    ["PipelineRunPending", "Unknown", SummaryStatus.UNKNOWN],
    ["PipelineRunStopping", "Unknown", SummaryStatus.UNKNOWN],
    ["CancelledRunningFinally", "Unknown", SummaryStatus.UNKNOWN],
    ["StoppedRunningFinally", "Unknown", SummaryStatus.UNKNOWN],
    ["ToBeRetried", "Unknown", SummaryStatus.UNKNOWN],
    // Upstream's explicit FAILURE list.
    ["TaskRunResolutionFailed", "False", SummaryStatus.FAILURE],
    ["TaskRunValidationFailed", "False", SummaryStatus.FAILURE],
    ["TaskValidationFailed", "False", SummaryStatus.FAILURE],
    ["ResourceVerificationFailed", "False", SummaryStatus.FAILURE],
    ["ExceededResourceQuota", "False", SummaryStatus.FAILURE],
    ["ExceededNodeResources", "False", SummaryStatus.FAILURE],
    ["PullImageFailed", "False", SummaryStatus.FAILURE],
    ["CreateContainerConfigError", "False", SummaryStatus.FAILURE],
    ["PodCreationFailed", "False", SummaryStatus.FAILURE],
    ["PodAdmissionFailed", "False", SummaryStatus.FAILURE],
    // Upstream says UNKNOWN for these terminal failures (§14.23); Hindsight says FAILURE.
    ["TaskRunImagePullFailed", "False", SummaryStatus.FAILURE],
    ["PodEvicted", "False", SummaryStatus.FAILURE],
    ["PipelineValidationFailed", "False", SummaryStatus.FAILURE],
    ["StepFailed", "False", SummaryStatus.FAILURE],
    ["CouldntGetPipeline", "False", SummaryStatus.FAILURE],
    ["CreateRunFailed", "False", SummaryStatus.FAILURE],
    [undefined, "False", SummaryStatus.FAILURE],
    // A custom task's own success reason.
    ["ChildPipelineRunCreated", "True", SummaryStatus.SUCCESS],
    ["SomethingNew", "Unknown", SummaryStatus.UNKNOWN],
  ];
  for (const [reason, status, want] of cases) {
    test(`${reason ?? "(no reason)"} / ${status}`, () => {
      expect(summaryStatusOf(run({ reason, status }))).toBe(want);
    });
  }
  test("no Succeeded condition, or another condition type: UNKNOWN", () => {
    expect(summaryStatusOf(run())).toBe(SummaryStatus.UNKNOWN);
    const o = run();
    o.status!.conditions = [{ type: "Ready", status: "False", reason: "Failed" }];
    expect(summaryStatusOf(o)).toBe(SummaryStatus.UNKNOWN);
    expect(isDone(o)).toBe(false);
  });
  test("done means Succeeded True or False", () => {
    expect(isDone(run({ reason: "Running", status: "Unknown" }))).toBe(false);
    expect(isDone(run({ reason: "Failed", status: "False" }))).toBe(true);
  });
});

describe("result content (spec §8.4, §14.22 fixed)", () => {
  const stored = (over: Partial<ResultResource> = {}): ResultResource => ({
    parent: "ns",
    name: "P",
    uid: "r-uid",
    createTime: 1,
    updateTime: 1,
    etag: "e",
    annotations: {},
    summary: null,
    ...over,
  });

  test("upstream's e2e expectation, plus the cluster annotation (check 93)", () => {
    const o = run({
      kind: "PipelineRun",
      reason: "Succeeded",
      start: "2023-08-22T09:08:59Z",
      end: "2023-08-22T09:09:10Z",
      meta: {
        name: "hello",
        uid: "P",
        labels: { "tekton.dev/pipeline": "hello" },
        annotations: {
          [ANNOTATION.resultAnnotations]: '{"repo": "tektoncd/results", "commit": "1a6b908"}',
          [ANNOTATION.recordSummaryAnnotations]: '{"foo": "bar"}',
        },
      },
    });
    const d = desiredResult(null, { obj: o, recordName: "ns/results/P/records/P", opts })!;
    expect(d.annotations).toEqual({
      repo: "tektoncd/results",
      "object.metadata.name": "hello",
      commit: "1a6b908",
      "tekton.dev/pipeline": "hello",
      "hindsight.dev/cluster": "prod",
    });
    expect(d.summary).toEqual({
      record: "ns/results/P/records/P",
      type: "tekton.dev/v1.PipelineRun",
      status: SummaryStatus.SUCCESS,
      startTime: Date.parse("2023-08-22T09:08:59Z") * 1000,
      endTime: Date.parse("2023-08-22T09:09:10Z") * 1000,
      annotations: { foo: "bar" },
    });
  });

  test("annotations merge over the stored ones; scalars stringified", () => {
    const o = run({ meta: { annotations: { [ANNOTATION.resultAnnotations]: '{"n": 1, "b": true, "o": {"x": 1}, "s": "v"}' } } });
    const d = desiredResult(stored({ annotations: { keep: "me", s: "old" } }), { obj: o, recordName: "ns/results/u1/records/u1", opts })!;
    expect(d.annotations).toMatchObject({ keep: "me", n: "1", b: "true", o: '{"x":1}', s: "v", "object.metadata.name": "r" });
  });

  test("an annotation-only change reaches the Result (upstream only pushes summary changes)", () => {
    const base = run({ kind: "PipelineRun", reason: "Succeeded", meta: { name: "p", uid: "P" } });
    const first = desiredResult(null, { obj: base, recordName: "ns/results/P/records/P", opts })!;
    const changed = structuredClone(base);
    changed.metadata!.annotations = { [ANNOTATION.resultAnnotations]: '{"owner": "team-a"}' };
    const second = desiredResult(stored(first), { obj: changed, recordName: "ns/results/P/records/P", opts })!;
    expect(second.summary).toEqual(first.summary);
    expect(second.annotations.owner).toBe("team-a");
  });

  test("an owned run shapes a Result it creates, and leaves a stored one alone", () => {
    const o = run({ meta: { ownerReferences: [{ apiVersion: "tekton.dev/v1", kind: "PipelineRun", uid: "P" }], labels: { "tekton.dev/pipeline": "x" } } });
    const created = desiredResult(null, { obj: o, recordName: "ns/results/P/records/u1", opts })!;
    expect(created.summary).toBeNull();
    expect(created.annotations).toEqual({ "hindsight.dev/cluster": "prod" });
    expect(desiredResult(stored(), { obj: o, recordName: "ns/results/P/records/u1", opts })).toBeNull();
  });

  test("summaryAnnotations keys are read from annotations (upstream reads labels)", () => {
    const o = run({ meta: { labels: { team: "from-label" }, annotations: { team: "from-annotation" } } });
    const d = desiredResult(null, { obj: o, recordName: "ns/results/u1/records/u1", opts: { ...opts, summaryAnnotations: ["team"] } })!;
    expect(d.annotations.team).toBe("from-annotation");
  });

  test("a malformed resultAnnotations is reported and skipped; the rest is still desired", () => {
    const warnings: string[] = [];
    const o = run({ meta: { annotations: { [ANNOTATION.resultAnnotations]: "{not json" } } });
    const d = desiredResult(null, { obj: o, recordName: "ns/results/u1/records/u1", opts, warn: (m) => warnings.push(m) })!;
    expect(warnings[0]).toMatch(/resultAnnotations is not JSON/);
    expect(d.summary?.record).toBe("ns/results/u1/records/u1");
  });
});

describe("derived ids", () => {
  test("uuidMd5 is RFC 4122 version 3 (Go's uuid.NewMD5)", () => {
    // The RFC's own example, as Python's uuid.uuid3(NAMESPACE_DNS, "python.org").
    expect(uuidMd5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org")).toBe("6fa459ea-ee8a-3ca4-894e-db77e160355e");
  });
  test("event list names: annotation on top-level runs, else derived from the result and run uids", () => {
    const o = run();
    const derived = eventListNameOf(o, "ns/results/u1", "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    expect(derived).toBe(`ns/results/u1/records/${uuidMd5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "u1eventlist")}`);
    expect(eventListNameOf(run({ meta: { annotations: { [ANNOTATION.eventList]: "ns/results/u1/records/ev" } } }), "ns/results/u1", "x")).toBe("ns/results/u1/records/ev");
  });
});

describe.skipIf(!existsSync(FIXTURES))("real fixtures", () => {
  const load = (f: string) => JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as KubeObject;
  test("a Konflux TaskRun goes to its PipelineRun's result, under its own uid", () => {
    const tr = load("taskrun-v1beta1-konflux-hr-clone-repository.json");
    const pr = load("pipelinerun-v1beta1-konflux-hr-11-taskruns-childrefs.json");
    const rn = resultNameOf(tr, opts);
    expect(rn).toBe(resultNameOf(pr, opts));
    expect(recordNameOf(tr, rn)).toBe(`${rn}/records/${tr.metadata!.uid}`);
    expect(recordTypeOf(tr)).toBe("tekton.dev/v1beta1.TaskRun");
  });
  test("a PipelineRun owned by a Component is top-level and gets a summary", () => {
    const pr = load("pipelinerun-v1beta1-konflux-devfile-skipped-finally.json");
    expect(isTopLevel(pr)).toBe(true);
    const d = desiredResult(null, { obj: pr, recordName: recordNameOf(pr, resultNameOf(pr, opts)), opts })!;
    expect(d.summary?.status).toBe(SummaryStatus.SUCCESS);
  });
  test("a timed-out PipelineRun is TIMEOUT; a custom run that succeeded with its own reason is SUCCESS", () => {
    expect(summaryStatusOf(load("pipelinerun-v1beta1-konflux-timeout-embedded-taskruns.json"))).toBe(SummaryStatus.TIMEOUT);
    expect(summaryStatusOf(load("customrun-v1beta1-synthetic-lighthouse-succeeded.json"))).toBe(SummaryStatus.SUCCESS);
  });
});
