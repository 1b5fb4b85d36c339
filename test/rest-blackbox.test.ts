// Black box: `hindsight serve` as a process, spoken to with plain fetch and
// literal JSON. Nothing here imports the server's code, its generated
// protos or the test helpers, so a change that breaks the wire shows here
// even if both sides of the other tests moved together.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "hindsight-blackbox-"));
let proc: ReturnType<typeof Bun.spawn> | null = null;
let base = "";

beforeAll(async () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HINDSIGHT_")) env[k] = v;
  proc = Bun.spawn([process.execPath, "src/main.ts", "serve", "--db", join(dir, "h.db"), "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"], {
    cwd: root,
    env,
    stdout: "ignore",
    stderr: "pipe",
  });
  // The start-up log line names the REST port.
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (!base && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${text}`);
    text += new TextDecoder().decode(value);
    const m = /"msg":"hindsight serving".*?"httpPort":(\d+)/.exec(text);
    if (m) base = `http://127.0.0.1:${m[1]}`;
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${base}/healthz`).catch(() => null))?.status === 200) return;
    await Bun.sleep(50);
  }
  throw new Error("not healthy");
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  rmSync(dir, { recursive: true, force: true });
});

const api = (p: string) => `${base}/apis/results.tekton.dev/v1alpha2/parents/${p}`;
const send = async (method: string, url: string, body?: unknown) => {
  const res = await fetch(url, { method, headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer t" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as any };
};

test("health, create, read, list, partial list, summary, errors and delete, as a client sees them", async () => {
  expect(await (await fetch(`${base}/healthz`)).text()).toBe('{"status":"SERVING"}\n');

  const result = await send("POST", api("bb/results"), { name: "bb/results/run-1", annotations: { repo: "acme/app" } });
  expect(result.status).toBe(200);
  expect(result.type).toBe("application/json");
  expect(Object.keys(result.body)).toEqual(["name", "id", "uid", "created_time", "create_time", "updated_time", "update_time", "annotations", "etag"]);
  expect(result.body.uid).toMatch(/^[0-9a-f-]{36}$/);
  expect(result.body.create_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$/);

  const doc = { apiVersion: "tekton.dev/v1", kind: "TaskRun", metadata: { name: "tr-1", namespace: "bb" }, status: { podName: "p" } };
  const value = btoa(JSON.stringify(doc));
  const rec = await send("POST", api("bb/results/run-1/records"), { name: "bb/results/run-1/records/tr-1", data: { type: "tekton.dev/v1.TaskRun", value } });
  expect(rec.status).toBe(200);
  expect(rec.body.data).toEqual({ type: "tekton.dev/v1.TaskRun", value });

  const got = await send("GET", api("bb/results/run-1/records/tr-1"));
  expect(JSON.parse(atob(got.body.data.value))).toEqual(doc);

  const list = await send("GET", api("bb/results/-/records?order_by=create_time%20desc&page_size=5&fields=records.name,records.data.value.metadata,next_page_token"));
  expect(list.body).toEqual({ records: [{ name: "bb/results/run-1/records/tr-1", data: { value: btoa(JSON.stringify({ metadata: doc.metadata })) } }] });

  expect((await send("GET", api("bb/results/-/records/summary?summary=total"))).body).toEqual({ summary: [{ total: 1 }] });
  expect(await send("GET", api("nobody/results"))).toMatchObject({ status: 200, body: {} });
  expect(await send("GET", api("bb/results/run-1/records/nope"))).toMatchObject({ status: 404, body: { code: 5 } });
  expect(await send("GET", api("bb/results?page_size=x"))).toMatchObject({ status: 400, body: { code: 3 } });
  expect(await send("PUT", api("bb/results/run-1"))).toMatchObject({ status: 501, body: { code: 12, message: "Method Not Allowed" } });
  expect(await send("GET", `${base}/nope`)).toMatchObject({ status: 404, body: { code: 5, message: "Not Found" } });

  expect(await send("DELETE", api("bb/results/run-1"))).toMatchObject({ status: 200, body: {} });
  expect((await send("GET", api("bb/results/run-1"))).status).toBe(404);

  const openapi = await send("GET", `${base}/openapi.json`);
  expect(openapi.body.openapi).toMatch(/^3\./);
  expect(Object.keys(openapi.body.paths)).toContain("/apis/results.tekton.dev/v1alpha2/parents/{parent}/results/{result}/records");
});
