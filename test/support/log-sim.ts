/**
 * A TaskRun with a pod whose containers write logs, driven like the Tekton
 * controller and the kubelet would: the run's status.steps follow the
 * containers (waiting, running, terminated), the pod's logs grow, the run
 * finishes and may be deleted with its pod. For the log capture tests and
 * the logs benchmark.
 */
import type { FakeKube, Obj } from "./fake-kube.ts";

export interface PodRunOptions {
  ns: string;
  name: string;
  steps: string[];
  sidecars?: string[];
  /** A PipelineRun owning this TaskRun. */
  owner?: { name: string; uid: string; task: string };
}

export class PodRun {
  readonly uid = crypto.randomUUID();
  pod: string;
  private retries = 0;
  private readonly states: Record<string, "waiting" | "running" | "terminated"> = {};

  constructor(
    private readonly fake: FakeKube,
    readonly o: PodRunOptions,
  ) {
    this.pod = `${o.name}-pod`;
  }

  get containers(): string[] {
    return [...this.o.steps.map((s) => `step-${s}`), ...(this.o.sidecars ?? []).map((s) => `sidecar-${s}`)];
  }

  private status(extra: Obj = {}): Obj {
    const entry = (name: string, container: string): Obj => {
      const st = this.states[container];
      return { name, container, ...(st === "running" ? { running: { startedAt: new Date().toISOString() } } : st === "terminated" ? { terminated: { exitCode: 0, reason: "Completed" } } : st === "waiting" ? { waiting: { reason: "PodInitializing" } } : {}) };
    };
    return {
      podName: this.states[this.containers[0]!] ? this.pod : undefined,
      startTime: new Date().toISOString(),
      conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }],
      steps: this.o.steps.map((s) => entry(s, `step-${s}`)),
      sidecars: (this.o.sidecars ?? []).map((s) => entry(s, `sidecar-${s}`)),
      ...(this.retries > 0 ? { retriesStatus: Array.from({ length: this.retries }, () => ({ conditions: [{ type: "Succeeded", status: "False", reason: "Failed" }] })) } : {}),
      ...extra,
    };
  }

  create(): this {
    const labels: Obj = { "tekton.dev/task": this.o.name };
    const meta: Obj = { name: this.o.name, namespace: this.o.ns, uid: this.uid, labels };
    if (this.o.owner) {
      labels["tekton.dev/pipelineTask"] = this.o.owner.task;
      labels["tekton.dev/pipelineRun"] = this.o.owner.name;
      meta.ownerReferences = [{ apiVersion: "tekton.dev/v1", kind: "PipelineRun", name: this.o.owner.name, uid: this.o.owner.uid, controller: true }];
    }
    this.fake.create("taskruns", { apiVersion: "tekton.dev/v1", kind: "TaskRun", metadata: meta, spec: { taskRef: { name: this.o.name } }, status: { conditions: [{ type: "Succeeded", status: "Unknown", reason: "Pending" }] } });
    return this;
  }

  private push(extra: Obj = {}): void {
    this.fake.modify("taskruns", this.o.ns, this.o.name, (cur) => ({ ...cur, status: this.status(extra) }));
  }

  startPod(): this {
    this.fake.pods.addPod(this.o.ns, this.pod, this.containers);
    for (const c of this.containers) this.states[c] = "waiting";
    this.push();
    return this;
  }

  start(container: string): this {
    this.states[container] = "running";
    this.fake.pods.setState(this.o.ns, this.pod, container, "running");
    this.push();
    return this;
  }

  write(container: string, text: string | Buffer): void {
    this.fake.pods.append(this.o.ns, this.pod, container, text);
  }

  end(container: string): this {
    this.states[container] = "terminated";
    this.fake.pods.setState(this.o.ns, this.pod, container, "terminated");
    this.push();
    return this;
  }

  finish(status: "True" | "False" = "True", reason = "Succeeded"): this {
    this.push({ completionTime: new Date().toISOString(), conditions: [{ type: "Succeeded", status, reason }] });
    return this;
  }

  /** The attempt failed; Tekton retries it in a new pod (status.retriesStatus grows). */
  retry(): this {
    this.retries++;
    this.pod = `${this.o.name}-pod-r${this.retries}`;
    this.fake.pods.addPod(this.o.ns, this.pod, this.containers);
    for (const c of this.containers) this.states[c] = "waiting";
    this.push();
    return this;
  }

  deletePod(): void {
    this.fake.pods.deletePod(this.o.ns, this.pod);
  }

  delete(): void {
    this.fake.remove("taskruns", this.o.ns, this.o.name);
  }
}
