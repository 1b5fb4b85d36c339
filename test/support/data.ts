/**
 * Deterministic generator of Tekton TaskRun and PipelineRun objects shaped
 * like the real ones in shared/fixtures/real (see NOTES.md there): metadata
 * with Tekton / app.kubernetes.io / Pipelines-as-Code labels, Results and
 * Chains annotations, managedFields, ownerReferences; spec; status with one
 * `Succeeded` condition, start/completion times, podName, steps[] with
 * container states and the resolved taskSpec (PipelineRuns: pipelineSpec and
 * childReferences). Both tekton.dev/v1 and tekton.dev/v1beta1 spellings.
 * Nothing is copied from the fixtures; only their shape and sizes are used.
 *
 * Calibration (sizes are compact JSON, UTF-8, i.e. what a client sends):
 * TASKRUN_BYTES and PIPELINERUN_BYTES below are the sizes of the 33 "full"
 * fixture objects (22 TaskRuns, 11 PipelineRuns; status fragments, the
 * CloudEvent wrapper and the two synthetic objects left out), measured with
 * `JSON.stringify(obj).length`. Each generated run draws a target size from
 * that empirical distribution (log-linear interpolation between order
 * statistics) and pads its taskSpec / pipelineSpec step scripts up to it, so
 * the generated sizes follow the fixtures. Fixture medians: TaskRuns 11.5 KB,
 * PipelineRuns 10.6 KB, all 33 objects 11.2 KB compact (13.3 KB for the 38
 * pretty-printed files on disk). `compareWithFixtures(dir)` re-measures both
 * sides; `bun run bench` prints that comparison when the fixtures exist.
 *
 * Simplifications: PipelineRuns list children with `childReferences` (what
 * every release since v0.45 writes), never the legacy embedded `taskRuns` map;
 * no sidecars, retries or CustomRuns.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// ---- seeded randomness ------------------------------------------------------

export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for test data; same seed, same data. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const chance = (rng: Rng, p: number) => rng() < p;

function chars(rng: Rng, n: number, alphabet: string): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}
const hex = (rng: Rng, n: number) => chars(rng, n, "0123456789abcdef");
/** Kubernetes generateName suffix, e.g. "rlrj8". */
const suffix = (rng: Rng) => chars(rng, 5, "bcdfghjklmnpqrstvwxz2456789");

export function uuid(rng: Rng): string {
  const h = hex(rng, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${"89ab"[int(rng, 0, 3)]}${h.slice(17, 20)}-${h.slice(20)}`;
}

/** RFC 3339, UTC, one-second precision, as Kubernetes writes it. */
const ts = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

// ---- calibration data -------------------------------------------------------

/** Compact JSON sizes of the 22 full TaskRun fixtures, sorted. */
export const TASKRUN_BYTES = [
  1903, 4705, 5038, 5110, 6209, 7127, 8041, 8417, 9386, 10328, 11237, 11714, 11718, 11965, 14391, 15382, 15642, 15889,
  16082, 18978, 23862, 27292,
] as const;
/** Compact JSON sizes of the 11 full PipelineRun fixtures, sorted. */
export const PIPELINERUN_BYTES = [3211, 4427, 4703, 6901, 9599, 10559, 11259, 23330, 26070, 52538, 104703] as const;

/** Draws from an empirical distribution, interpolating log-linearly between order statistics. */
export function sampleSize(rng: Rng, sorted: readonly number[]): number {
  const u = rng() * (sorted.length - 1);
  const i = Math.floor(u);
  const f = u - i;
  const a = sorted[i]!;
  const b = sorted[Math.min(i + 1, sorted.length - 1)]!;
  return Math.round(Math.exp(Math.log(a) * (1 - f) + Math.log(b) * f));
}

// ---- vocabulary ---------------------------------------------------------------

/** ~20 namespaces; a few busy ones and a long tail (Zipf-like weights). */
export const NAMESPACES = [
  "rhtapuser-tenant", "ci", "default", "payments-tenant", "build-system", "frontend-ci", "platform-tekton",
  "data-pipelines", "mobile-builds", "release-eng", "security-scans", "docs-site", "ml-training", "infra-gitops",
  "qa-nightly", "partner-integrations", "search-team", "observability", "sandbox", "legacy-jenkins-migration",
] as const;
const NS_WEIGHTS = NAMESPACES.map((_, i) => 1 / (i + 1) ** 0.8);
const NS_TOTAL = NS_WEIGHTS.reduce((a, b) => a + b, 0);

export function pickNamespace(rng: Rng): string {
  let u = rng() * NS_TOTAL;
  for (let i = 0; i < NAMESPACES.length; i++) {
    u -= NS_WEIGHTS[i]!;
    if (u <= 0) return NAMESPACES[i]!;
  }
  return NAMESPACES[NAMESPACES.length - 1]!;
}

const APPS = ["human-resources", "checkout-service", "payments-api", "devfile-sample", "nodejs-builder", "inventory", "web-frontend", "auth-proxy", "catalog-indexer", "report-generator"];
const PIPELINE_KINDS = ["on-pull-request", "on-push", "nightly", "release", "build"];

interface TaskDef {
  name: string;
  steps: string[];
  image: string;
  results: string[];
}
const TASKS: TaskDef[] = [
  { name: "init", steps: ["init"], image: "registry.redhat.io/openshift4/ose-cli:4.13", results: ["build", "container-registry-secret"] },
  { name: "clone-repository", steps: ["clone", "symlink-check"], image: "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.40.2", results: ["commit", "url"] },
  { name: "prefetch-dependencies", steps: ["prefetch-dependencies"], image: "quay.io/redhat-appstudio/cachi2:0.3.0", results: [] },
  { name: "unit-tests", steps: ["install", "test", "report"], image: "registry.access.redhat.com/ubi9/nodejs-18:latest", results: ["TEST_OUTPUT"] },
  { name: "lint", steps: ["lint"], image: "docker.io/golangci/golangci-lint:v1.54", results: [] },
  { name: "build-container", steps: ["build", "sbom-syft-generate", "analyse-dependencies-java-sbom", "merge-syft-sboms", "merge-cachi2-sbom", "create-purl-sbom", "inject-sbom-and-push", "upload-sbom"], image: "quay.io/redhat-appstudio/buildah:v1.31.0", results: ["IMAGE_DIGEST", "IMAGE_URL", "BASE_IMAGES_DIGESTS", "JAVA_COMMUNITY_DEPENDENCIES"] },
  { name: "inspect-image", steps: ["inspect-image"], image: "quay.io/redhat-appstudio/hacbs-test:v1.1.0", results: ["BASE_IMAGE", "BASE_IMAGE_REPOSITORY", "TEST_OUTPUT"] },
  { name: "clair-scan", steps: ["get-vulnerabilities", "oci-attach-report", "conftest-vulnerabilities"], image: "quay.io/redhat-appstudio/clair-in-ci:v1", results: ["TEST_OUTPUT", "CLAIR_SCAN_RESULT"] },
  { name: "sbom-json-check", steps: ["sbom-json-check"], image: "quay.io/redhat-appstudio/hacbs-test:v1.1.0", results: ["TEST_OUTPUT"] },
  { name: "label-check", steps: ["surface-level-checks-required"], image: "quay.io/redhat-appstudio/hacbs-test:v1.1.0", results: ["TEST_OUTPUT"] },
  { name: "deprecated-base-image-check", steps: ["query-pyxis", "run-conftest"], image: "quay.io/redhat-appstudio/hacbs-test:v1.1.0", results: ["PYXIS_HTTP_CODE", "TEST_OUTPUT"] },
  { name: "push-image", steps: ["push"], image: "quay.io/buildah/stable:v1.30", results: ["IMAGE_DIGEST"] },
];
const FINALLY: TaskDef[] = [
  { name: "show-summary", steps: ["appstudio-summary"], image: "quay.io/redhat-appstudio/build-definitions-source-image-build-utils:latest", results: [] },
  { name: "show-sbom", steps: ["show-sbom"], image: "quay.io/redhat-appstudio/syft:v0.85.0", results: [] },
];

const SCRIPT_LINES = [
  "#!/usr/bin/env bash", "set -euo pipefail", 'echo "Build Initialize: $IMAGE_URL"',
  'if ! oc image info "$IMAGE_URL" &>/dev/null || [ "$REBUILD" == "true" ]; then',
  '  echo -n "true" > "$(results.build.path)"', "else", '  echo -n "false" > "$(results.build.path)"', "fi",
  'SOURCE_CODE_DIR="$(workspaces.source.path)/source"', 'cd "$SOURCE_CODE_DIR"',
  'git fetch --depth=1 origin "$REVISION" && git checkout FETCH_HEAD',
  'buildah bud --tls-verify="$TLSVERIFY" --ulimit nofile=4096:4096 -f "$DOCKERFILE" -t "$IMAGE" .',
  'syft dir:"$SOURCE_CODE_DIR" --output cyclonedx-json="$(workspaces.source.path)/sbom-source.json"',
  'jq -s \'.[0].components + .[1].components | unique_by(.purl)\' sbom-a.json sbom-b.json > sbom-merged.json',
  'status=$(jq -r \'.status\' < "$REPORT")', 'note="Task $(context.task.name) completed: refer to Tekton results."',
  'TEST_OUTPUT=$(make_result_json -r "${status}" -t "$note")', 'echo "${TEST_OUTPUT}" | tee "$(results.TEST_OUTPUT.path)"',
  "for f in $(find . -name '*.json' -maxdepth 3); do", '  conftest test --namespace required_checks "$f" || failures=$((failures+1))',
  "done", 'curl -sSfL --retry 3 "https://catalog.redhat.com/api/containers/v1/repositories/registry/$REGISTRY"',
  'cosign attach sbom --sbom sbom-cyclonedx.json --type cyclonedx "$IMAGE"', 'echo "$(date -u +%FT%TZ) step finished"',
];

// ---- shapes ---------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined };
export type Obj = { [k: string]: Json | undefined };

export type RunKind = "TaskRun" | "PipelineRun";
export type ApiVersion = "tekton.dev/v1" | "tekton.dev/v1beta1";
/** Final state of a run; "running" runs have no completionTime. */
export type RunState = "succeeded" | "failed" | "cancelled" | "timeout" | "running";

/** Shared by every run of one pipeline run group. */
export interface GroupContext {
  namespace: string;
  apiVersion: ApiVersion;
  /** Pipelines-as-Code / Konflux style metadata (big annotations, managedFields) or plain. */
  pac: boolean;
  app: string;
  pipeline: string;
  pipelineRun: { name: string; uid: string };
  sha: string;
  state: RunState;
  startMs: number;
  release: string;
}

export interface RunOptions {
  kind?: RunKind;
  /** Target compact JSON size; drawn from the fixture distribution when absent. */
  targetBytes?: number;
  group?: GroupContext;
  task?: TaskDef;
  memberOf?: "tasks" | "finally";
  state?: RunState;
  startMs?: number;
}

/** Summary status numbers as Results clients compute them (SummaryStatus). */
export const SUMMARY_STATUS: Record<RunState, number> = { running: 0, succeeded: 1, failed: 2, timeout: 3, cancelled: 4 };

export function newGroupContext(rng: Rng, opts: { namespace?: string; startMs?: number } = {}): GroupContext {
  const app = pick(rng, APPS);
  const kind = pick(rng, PIPELINE_KINDS);
  const prName = `${app}-${kind}-${suffix(rng)}`;
  const u = rng();
  const state: RunState = u < 0.8 ? "succeeded" : u < 0.92 ? "failed" : u < 0.95 ? "cancelled" : u < 0.98 ? "timeout" : "running";
  const pac = chance(rng, 0.6);
  return {
    namespace: opts.namespace ?? pickNamespace(rng),
    apiVersion: chance(rng, 0.4) ? "tekton.dev/v1" : "tekton.dev/v1beta1",
    pac,
    app,
    // Embedded pipelineSpec (Konflux style) labels the run with its own name.
    pipeline: pac ? prName : `${app}-${kind}`,
    pipelineRun: { name: prName, uid: uuid(rng) },
    sha: hex(rng, 40),
    state,
    startMs: opts.startMs ?? Date.UTC(2024, 0, 1) + Math.floor(rng() * 365 * 86400) * 1000,
    release: hex(rng, 7),
  };
}

function labels(g: GroupContext, kind: RunKind, task?: TaskDef, memberOf?: string): Obj {
  const l: Obj = { "tekton.dev/pipeline": g.pipeline };
  if (kind === "TaskRun") {
    l["tekton.dev/pipelineRun"] = g.pipelineRun.name;
    l["tekton.dev/pipelineTask"] = task!.name;
    l["tekton.dev/task"] = task!.name;
    l["tekton.dev/memberOf"] = memberOf ?? "tasks";
    l["app.kubernetes.io/version"] = "0.1";
  }
  l["app.kubernetes.io/managed-by"] = g.pac ? "pipelinesascode.tekton.dev" : "tekton-pipelines";
  if (g.pac) {
    Object.assign(l, {
      "appstudio.openshift.io/application": `${g.app}-app`,
      "appstudio.openshift.io/component": g.app,
      "pipelines.appstudio.openshift.io/type": "build",
      "pipelinesascode.tekton.dev/branch": "main",
      "pipelinesascode.tekton.dev/event-type": "pull_request",
      "pipelinesascode.tekton.dev/git-provider": "github",
      "pipelinesascode.tekton.dev/original-prname": g.pipelineRun.name.slice(0, -6),
      "pipelinesascode.tekton.dev/repository": g.app,
      "pipelinesascode.tekton.dev/sender": "renovate__bot",
      "pipelinesascode.tekton.dev/sha": g.sha,
      "pipelinesascode.tekton.dev/state": "started",
      "pipelinesascode.tekton.dev/url-org": "example-org",
      "pipelinesascode.tekton.dev/url-repository": g.app,
    });
  }
  return l;
}

function annotations(rng: Rng, g: GroupContext, recordUid: string): Obj {
  const result = `${g.namespace}/results/${g.pipelineRun.uid}`;
  const a: Obj = {
    "pipeline.tekton.dev/release": g.release,
    "results.tekton.dev/result": result,
    "results.tekton.dev/record": `${result}/records/${recordUid}`,
    "results.tekton.dev/log": `${result}/logs/${uuid(rng)}`,
  };
  if (g.pac) {
    const repo = `https://github.com/example-org/${g.app}`;
    Object.assign(a, {
      "build.appstudio.openshift.io/repo": `${repo}?rev=${g.sha}`,
      "build.appstudio.redhat.com/commit_sha": g.sha,
      "build.appstudio.redhat.com/pull_request_number": String(int(rng, 1, 900)),
      "build.appstudio.redhat.com/target_branch": "main",
      "chains.tekton.dev/signed": "true",
      "pipelinesascode.tekton.dev/check-run-id": String(int(rng, 1e10, 2e10)),
      "pipelinesascode.tekton.dev/git-auth-secret": `pac-gitauth-${suffix(rng)}`,
      "pipelinesascode.tekton.dev/installation-id": String(int(rng, 1e7, 9e7)),
      "pipelinesascode.tekton.dev/log-url": "https://console.example.com/application-pipeline",
      "pipelinesascode.tekton.dev/max-keep-runs": "3",
      "pipelinesascode.tekton.dev/on-event": "[pull_request]",
      "pipelinesascode.tekton.dev/on-target-branch": "[main]",
      "pipelinesascode.tekton.dev/repo-url": repo,
      "pipelinesascode.tekton.dev/sha-title": "chore(deps): update build definitions",
      "pipelinesascode.tekton.dev/sha-url": `${repo}/commit/${g.sha}`,
      "results.tekton.dev/childReadyForDeletion": "true",
      "tekton.dev/pipelines.minVersion": "0.12.1",
      "tekton.dev/tags": "appstudio, hacbs",
    });
  }
  return a;
}

/** Server-side apply bookkeeping: 2-4 KB of nested "f:" keys. */
function managedFields(g: GroupContext, meta: Obj, status: boolean, t: number): Json[] {
  const fieldsOf = (o: Obj) => Object.fromEntries(Object.keys(o).map((k) => [`f:${k}`, {}]));
  const entries: Json[] = [
    {
      apiVersion: g.apiVersion,
      fieldsType: "FieldsV1",
      fieldsV1: {
        "f:metadata": {
          "f:annotations": { ".": {}, ...fieldsOf(meta.annotations as Obj) },
          "f:labels": { ".": {}, ...fieldsOf(meta.labels as Obj) },
          "f:ownerReferences": { ".": {}, [`k:{"uid":"${g.pipelineRun.uid}"}`]: {} },
        },
        "f:spec": { ".": {}, "f:params": {}, "f:serviceAccountName": {}, "f:taskRef": { ".": {}, "f:kind": {}, "f:params": {}, "f:resolver": {} }, "f:timeout": {} },
      },
      manager: g.pac ? "openshift-pipelines-controller" : "controller",
      operation: "Update",
      time: ts(t),
    },
    {
      apiVersion: g.apiVersion,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": { "f:annotations": { "f:chains.tekton.dev/signed": {} }, "f:finalizers": { ".": {}, 'v:"chains.tekton.dev"': {} } } },
      manager: "openshift-pipelines-chains-controller",
      operation: "Update",
      time: ts(t + 6000),
    },
  ];
  if (status) {
    entries.push({
      apiVersion: g.apiVersion,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:status": { ".": {}, "f:completionTime": {}, "f:conditions": {}, "f:podName": {}, "f:startTime": {}, "f:steps": {}, "f:taskResults": {}, "f:taskSpec": { ".": {}, "f:description": {}, "f:params": {}, "f:results": {}, "f:steps": {} } } },
      manager: "openshift-pipelines-controller",
      operation: "Update",
      subresource: "status",
      time: ts(t + 6000),
    });
  }
  entries.push({
    apiVersion: g.apiVersion,
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:annotations": { "f:results.tekton.dev/log": {}, "f:results.tekton.dev/record": {}, "f:results.tekton.dev/result": {} } } },
    manager: "watcher",
    operation: "Update",
    time: ts(t + 9000),
  });
  return entries;
}

function condition(kind: RunKind, state: RunState, name: string, ns: string, t: number, extra: { pod?: string; step?: string; image?: string; tasks?: number }): Obj {
  const c = (status: string, reason: string, message: string): Obj => ({ lastTransitionTime: ts(t), message, reason, status, type: "Succeeded" });
  const n = extra.tasks ?? 0;
  if (kind === "TaskRun") {
    switch (state) {
      case "succeeded": return c("True", "Succeeded", "All Steps have completed executing");
      case "failed": return c("False", "Failed", `"step-${extra.step}" exited with code 1 (image: "${extra.image}"); for logs run: kubectl -n ${ns} logs ${extra.pod} -c step-${extra.step}`);
      case "cancelled": return c("False", "TaskRunCancelled", `TaskRun "${name}" was cancelled. TaskRun cancelled as the PipelineRun it belongs to has been cancelled.`);
      case "timeout": return c("False", "TaskRunTimeout", `TaskRun "${name}" failed to finish within "1h0m0s"`);
      case "running": return c("Unknown", "Running", "Not all Steps in the Task have finished executing");
    }
  }
  switch (state) {
    case "succeeded": return c("True", "Succeeded", `Tasks Completed: ${n} (Failed: 0, Cancelled 0), Skipped: 0`);
    case "failed": return c("False", "Failed", `Tasks Completed: ${n} (Failed: 1, Cancelled 0), Skipped: 2`);
    case "cancelled": return c("False", "Cancelled", `PipelineRun "${name}" was cancelled`);
    case "timeout": return c("False", "PipelineRunTimeout", `PipelineRun "${name}" failed to finish within "1h0m0s"`);
    case "running": return c("Unknown", "Running", `Tasks Completed: ${Math.max(0, n - 2)} (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0`);
  }
}

const digest = (rng: Rng) => `sha256:${hex(rng, 64)}`;

function taskSpec(rng: Rng, task: TaskDef, v1: boolean): Obj {
  return {
    description: `${task.name}: generated task modelled on the Konflux / Tekton catalog tasks.`,
    params: [
      { description: "Image URL for build by PipelineRun", name: "image-url", type: "string" },
      { default: "false", description: "Rebuild the image if it exists", name: "rebuild", type: "string" },
    ],
    results: task.results.map((r) => ({ description: `${r} produced by ${task.name}`, name: r, type: "string" })),
    steps: task.steps.map((s) => ({
      [v1 ? "computeResources" : "resources"]: s === "build" ? { limits: { memory: "4Gi" }, requests: { cpu: "1", memory: "512Mi" } } : {},
      env: [{ name: "IMAGE_URL", value: "$(params.image-url)" }, { name: "REBUILD", value: "$(params.rebuild)" }],
      image: `${task.image}@${digest(rng)}`,
      name: s,
      script: `${SCRIPT_LINES[0]}\n${SCRIPT_LINES[1]}\n${pick(rng, SCRIPT_LINES.slice(2))}\n`,
    })),
  };
}

/** Appends script lines to `steps` until the object's compact JSON reaches `target`. */
function padTo(rng: Rng, obj: Obj, steps: Obj[], target: number, copies = 1): void {
  let size = JSON.stringify(obj).length;
  let i = 0;
  while (size < target - 40 && steps.length > 0) {
    const step = steps[i++ % steps.length]!;
    let add = "";
    let grow = 0;
    while (grow < Math.min(target - size, 600)) {
      const line = pick(rng, SCRIPT_LINES) + "\n";
      add += line;
      grow += (JSON.stringify(line).length - 2) * copies;
    }
    step.script = (step.script as string) + add;
    size = JSON.stringify(obj).length;
  }
}

/** One TaskRun or PipelineRun in its final state. */
export function generateRun(rng: Rng, opts: RunOptions = {}): Obj {
  const kind = opts.kind ?? (chance(rng, 1 / 6) ? "PipelineRun" : "TaskRun");
  const g = opts.group ?? newGroupContext(rng);
  return kind === "TaskRun" ? taskRun(rng, g, opts) : pipelineRun(rng, g, opts, [pick(rng, TASKS), pick(rng, TASKS)]);
}

function taskRun(rng: Rng, g: GroupContext, opts: RunOptions): Obj {
  const task = opts.task ?? pick(rng, TASKS);
  const v1 = g.apiVersion === "tekton.dev/v1";
  const state = opts.state ?? (g.state === "running" ? "running" : g.state === "failed" ? "succeeded" : g.state);
  const target = opts.targetBytes ?? sampleSize(rng, TASKRUN_BYTES);
  const name = `${g.pipelineRun.name}-${task.name}`;
  const uid = uuid(rng);
  const start = opts.startMs ?? g.startMs + int(rng, 2, 60) * 1000;
  const pod = `${name}-pod`;
  const meta: Obj = {
    annotations: annotations(rng, g, uid),
    creationTimestamp: ts(start - 1000),
    generation: 1,
    labels: labels(g, "TaskRun", task, opts.memberOf),
    name,
    namespace: g.namespace,
    ownerReferences: [{ apiVersion: g.apiVersion, blockOwnerDeletion: true, controller: true, kind: "PipelineRun", name: g.pipelineRun.name, uid: g.pipelineRun.uid }],
    resourceVersion: String(int(rng, 1e6, 9e8)),
    uid,
  };
  if (g.pac) meta.finalizers = ["chains.tekton.dev"];
  const spec: Obj = {
    params: [{ name: "image-url", value: `quay.io/example-org/${g.app}:on-pr-${g.sha}` }, { name: "rebuild", value: "false" }],
    taskRef: { kind: "Task", params: [{ name: "name", value: task.name }, { name: "bundle", value: `quay.io/example-catalog/task-${task.name}:0.1@${digest(rng)}` }, { name: "kind", value: "task" }], resolver: "bundles" },
    serviceAccountName: "appstudio-pipeline",
    timeout: "1h0m0s",
  };
  const tspec = taskSpec(rng, task, v1);
  const failing = state === "failed" ? int(rng, 0, task.steps.length - 1) : -1;
  let t = start + 3000;
  const steps: Json[] = task.steps.map((s, i) => {
    const startedAt = t;
    t += int(rng, 1, 90) * 1000;
    const cid = `cri-o://${hex(rng, 64)}`;
    const imageID = `${task.image.split(":")[0]}@${digest(rng)}`;
    if (state === "running" && i === task.steps.length - 1) return { container: `step-${s}`, imageID, name: s, running: { startedAt: ts(startedAt) } };
    const bad = i === failing || ((state === "cancelled" || state === "timeout") && i === task.steps.length - 1);
    const skipped = failing >= 0 && i > failing;
    return {
      container: `step-${s}`,
      imageID,
      name: s,
      terminated: {
        containerID: cid,
        exitCode: bad || skipped ? 1 : 0,
        finishedAt: ts(t),
        ...(i === task.steps.length - 1 && task.results.length ? { message: JSON.stringify(task.results.map((r) => ({ key: r, value: "true", type: 1 }))) } : {}),
        reason: bad || skipped ? "Error" : "Completed",
        startedAt: ts(startedAt),
      },
    };
  });
  const done = state !== "running";
  const results = state === "succeeded" ? task.results.map((r) => ({ name: r, type: "string", value: r === "IMAGE_DIGEST" ? digest(rng) : "true" })) : [];
  const status: Obj = {
    ...(done ? { completionTime: ts(t) } : {}),
    conditions: [condition("TaskRun", state, name, g.namespace, t, { pod, step: task.steps[Math.max(failing, 0)], image: task.image, tasks: 0 })],
    podName: pod,
    startTime: ts(start),
    steps,
    ...(results.length ? { [v1 ? "results" : "taskResults"]: results } : {}),
    taskSpec: tspec,
  };
  const run: Obj = { apiVersion: g.apiVersion, kind: "TaskRun", metadata: meta, spec, status };
  if (g.pac && JSON.stringify(run).length + 3000 < target) meta.managedFields = managedFields(g, meta, true, start);
  padTo(rng, run, tspec.steps as Obj[], target);
  return run;
}

function pipelineRun(rng: Rng, g: GroupContext, opts: RunOptions, tasks: TaskDef[], fin: TaskDef[] = []): Obj {
  const v1 = g.apiVersion === "tekton.dev/v1";
  const state = opts.state ?? g.state;
  const target = opts.targetBytes ?? sampleSize(rng, PIPELINERUN_BYTES);
  const name = g.pipelineRun.name;
  const start = opts.startMs ?? g.startMs;
  const end = start + int(rng, 60, 1800) * 1000;
  // Finally tasks are inline taskSpecs (what gets padded); the rest are bundle refs.
  const inline = fin.length ? fin : [FINALLY[0]!];
  const pspec: Obj = {
    params: [{ description: "Source Repository URL", name: "git-url", type: "string" }, { default: "", description: "Revision of the Source Repository", name: "revision", type: "string" }, { description: "Fully Qualified Output Image", name: "output-image", type: "string" }],
    results: [{ description: "", name: "IMAGE_URL", value: "$(tasks.build-container.results.IMAGE_URL)" }, { description: "", name: "IMAGE_DIGEST", value: "$(tasks.build-container.results.IMAGE_DIGEST)" }],
    tasks: tasks.map((t, i) => ({
      name: t.name,
      params: [{ name: "image-url", value: "$(params.output-image)" }, { name: "revision", value: "$(params.revision)" }],
      ...(i > 0 ? { runAfter: [tasks[i - 1]!.name] } : {}),
      taskRef: { kind: "Task", params: [{ name: "name", value: t.name }, { name: "bundle", value: `quay.io/example-catalog/task-${t.name}:0.1@${digest(rng)}` }, { name: "kind", value: "task" }], resolver: "bundles" },
      workspaces: [{ name: "source", workspace: "workspace" }],
    })),
    finally: inline.map((t) => ({ name: t.name, params: [{ name: "pipelinerun-name", value: "$(context.pipelineRun.name)" }], taskSpec: taskSpec(rng, t, v1) })),
    workspaces: [{ name: "workspace" }, { name: "git-auth", optional: true }],
  };
  const uid = g.pipelineRun.uid;
  const meta: Obj = {
    annotations: annotations(rng, g, uid),
    creationTimestamp: ts(start),
    generation: 1,
    labels: labels(g, "PipelineRun"),
    name,
    namespace: g.namespace,
    resourceVersion: String(int(rng, 1e6, 9e8)),
    uid,
  };
  if (g.pac) meta.finalizers = ["chains.tekton.dev/pipelinerun"];
  const embedded = g.pac; // Konflux embeds the pipeline in the PipelineRun
  const spec: Obj = {
    params: [{ name: "git-url", value: `https://github.com/example-org/${g.app}` }, { name: "revision", value: g.sha }, { name: "output-image", value: `quay.io/example-org/${g.app}:on-pr-${g.sha}` }],
    ...(embedded ? { pipelineSpec: pspec } : { pipelineRef: { name: g.pipeline } }),
    ...(v1 ? { taskRunTemplate: { serviceAccountName: "pipeline" }, timeouts: { pipeline: "1h0m0s" } } : { serviceAccountName: "pipeline", timeout: "1h0m0s" }),
    workspaces: [{ name: "workspace", volumeClaimTemplate: { metadata: { creationTimestamp: null }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } }, status: {} } }],
  };
  const all = [...tasks, ...inline];
  const shown = state === "running" ? all.slice(0, Math.max(1, all.length - 2)) : all;
  const status: Obj = {
    childReferences: shown.map((t) => ({ apiVersion: g.apiVersion, kind: "TaskRun", name: `${name}-${t.name}`, pipelineTaskName: t.name })),
    ...(state !== "running" ? { completionTime: ts(end) } : {}),
    conditions: [condition("PipelineRun", state, name, g.namespace, end, { tasks: all.length })],
    ...(state === "succeeded" ? { [v1 ? "results" : "pipelineResults"]: [{ name: "IMAGE_URL", value: `quay.io/example-org/${g.app}:on-pr-${g.sha}` }, { name: "IMAGE_DIGEST", value: digest(rng) }] } : {}),
    pipelineSpec: pspec,
    provenance: { featureFlags: { EnableAPIFields: "beta", EnforceNonfalsifiability: "none", RunningInEnvWithInjectedSidecars: true, AwaitSidecarReadiness: true, MaxResultSize: 4096, ResultExtractionMethod: "termination-message" } },
    startTime: ts(start),
  };
  const run: Obj = { apiVersion: g.apiVersion, kind: "PipelineRun", metadata: meta, spec, status };
  if (g.pac && JSON.stringify(run).length + 3000 < target) meta.managedFields = managedFields(g, meta, true, start);
  const finSteps = (pspec.finally as Obj[]).flatMap((f) => ((f.taskSpec as Obj).steps as Obj[]));
  padTo(rng, run, finSteps, target, embedded ? 2 : 1);
  return run;
}

export interface RunGroup {
  namespace: string;
  /** The Result's name in Tekton Results: the PipelineRun's uid. */
  resultName: string;
  pipelineRun: Obj;
  taskRuns: Obj[];
  /** Summary of the group as Results' watcher would set it on the Result. */
  state: RunState;
}

/** One PipelineRun and its 2..11 TaskRuns, sharing namespace and tekton.dev/pipeline. */
export function generateRunGroup(rng: Rng, opts: { namespace?: string; startMs?: number; taskRuns?: number } = {}): RunGroup {
  const g = newGroupContext(rng, opts);
  const n = opts.taskRuns ?? Math.min(11, 2 + Math.floor(-Math.log(1 - rng()) * 3));
  const shuffled = [...TASKS].sort(() => rng() - 0.5);
  const tasks = [TASKS[0]!, ...shuffled.filter((t) => t !== TASKS[0]).slice(0, Math.max(0, n - 2))];
  const fin = [FINALLY[0]!];
  const failAt = g.state === "succeeded" || g.state === "running" ? -1 : int(rng, 1, tasks.length - 1);
  let t = g.startMs + 2000;
  const taskRuns = [...tasks, ...fin].map((task, i) => {
    const isFinally = i >= tasks.length;
    let state: RunState = "succeeded";
    if (g.state === "running" && i === tasks.length - 1) state = "running";
    if (i === failAt) state = g.state;
    const tr = taskRun(rng, g, { task, state, startMs: t, memberOf: isFinally ? "finally" : "tasks" });
    t += int(rng, 5, 300) * 1000;
    return tr;
  });
  const pipelineRun = generatePipelineRunFor(rng, g, tasks, fin);
  return { namespace: g.namespace, resultName: g.pipelineRun.uid, pipelineRun, taskRuns, state: g.state };
}

function generatePipelineRunFor(rng: Rng, g: GroupContext, tasks: TaskDef[], fin: TaskDef[]): Obj {
  return pipelineRun(rng, g, {}, tasks, fin);
}

// ---- lifecycle ------------------------------------------------------------------

/**
 * The states a watcher sees for one run, oldest first, ending with `final`:
 * [0] just started (Unknown/Pending, steps waiting, no childReferences),
 * [1] and [2] running (steps or children progressively finished), [3] final.
 * These are what Hindsight gets as CreateRecord and then 3 UpdateRecords.
 */
export function lifecycle(final: Obj, stages = 4): Obj[] {
  const out: Obj[] = [];
  for (let k = 0; k < stages - 1; k++) {
    const o = structuredClone(final) as Obj;
    const st = o.status as Obj;
    const m = o.metadata as Obj;
    m.resourceVersion = String(Number(m.resourceVersion) - (stages - 1 - k) * 17);
    delete st.completionTime;
    delete st.results;
    delete st.taskResults;
    delete st.pipelineResults;
    const c = (st.conditions as Obj[])[0]!;
    c.status = "Unknown";
    c.reason = k === 0 ? (o.kind === "TaskRun" ? "Pending" : "Started") : "Running";
    c.message = k === 0 ? "Pending" : o.kind === "TaskRun" ? "Not all Steps in the Task have finished executing" : `Tasks Completed: ${k} (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0`;
    c.lastTransitionTime = st.startTime!;
    const frac = k / (stages - 1);
    if (Array.isArray(st.steps)) {
      const steps = st.steps as Obj[];
      const doneUpTo = Math.floor(steps.length * frac);
      steps.forEach((s, i) => {
        const term = s.terminated as Obj | undefined;
        if (i < doneUpTo && term && term.exitCode === 0) return;
        delete s.terminated;
        delete s.running;
        if (k === 0 || i > doneUpTo) s.waiting = { reason: "PodInitializing" };
        else s.running = { startedAt: st.startTime! };
      });
    }
    if (Array.isArray(st.childReferences)) {
      const refs = st.childReferences as Json[];
      st.childReferences = refs.slice(0, Math.floor(refs.length * frac));
    }
    out.push(o);
  }
  out.push(final);
  return out;
}

// ---- calibration helpers -------------------------------------------------------

export interface SizeStats {
  n: number;
  min: number;
  p10: number;
  p50: number;
  p90: number;
  max: number;
  mean: number;
}

export function sizeStats(sizes: number[]): SizeStats {
  const s = [...sizes].sort((a, b) => a - b);
  const q = (p: number) => {
    const x = p * (s.length - 1);
    const i = Math.floor(x);
    return Math.round(s[i]! + (s[Math.min(i + 1, s.length - 1)]! - s[i]!) * (x - i));
  };
  return { n: s.length, min: s[0]!, p10: q(0.1), p50: q(0.5), p90: q(0.9), max: s[s.length - 1]!, mean: Math.round(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** Compact JSON sizes of full run objects (apiVersion, kind, metadata, status) in a fixtures folder. */
export function fixtureSizes(dir: string): { taskRuns: number[]; pipelineRuns: number[]; files: number[] } {
  const taskRuns: number[] = [];
  const pipelineRuns: number[] = [];
  const files: number[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const text = readFileSync(join(dir, f), "utf8");
    files.push(Buffer.byteLength(text));
    const o = JSON.parse(text) as Obj;
    const synthetic = f.includes("synthetic");
    if (synthetic || !o.apiVersion || !o.metadata || !o.status) continue;
    const n = Buffer.byteLength(JSON.stringify(o));
    if (o.kind === "TaskRun") taskRuns.push(n);
    else if (o.kind === "PipelineRun") pipelineRuns.push(n);
  }
  return { taskRuns, pipelineRuns, files };
}

/**
 * Size comparison of the fixtures in `dir` with `groups` generated run groups
 * (every TaskRun and PipelineRun in their final state, compact JSON).
 */
export function compareWithFixtures(dir: string, opts: { seed?: number; groups?: number } = {}) {
  const fx = fixtureSizes(dir);
  const rng = makeRng(opts.seed ?? 1);
  const tr: number[] = [];
  const pr: number[] = [];
  for (let i = 0; i < (opts.groups ?? 300); i++) {
    const g = generateRunGroup(rng);
    pr.push(Buffer.byteLength(JSON.stringify(g.pipelineRun)));
    for (const t of g.taskRuns) tr.push(Buffer.byteLength(JSON.stringify(t)));
  }
  return {
    fixtures: { taskRuns: sizeStats(fx.taskRuns), pipelineRuns: sizeStats(fx.pipelineRuns), all: sizeStats([...fx.taskRuns, ...fx.pipelineRuns]), prettyFiles: sizeStats(fx.files) },
    generated: { taskRuns: sizeStats(tr), pipelineRuns: sizeStats(pr), all: sizeStats([...tr, ...pr]) },
  };
}
