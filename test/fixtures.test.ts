// Real TaskRun/PipelineRun objects (../shared/fixtures/real) stored and read
// back. Runs when the shared folder is present (CI has it); skipped in a plain clone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./support/server.ts";
import { parse } from "./support/wire.ts";

const dir = join(import.meta.dir, "../../shared/fixtures/real");
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort() : [];

let s: TestServer;
beforeAll(async () => {
  if (files.length) s = await startTestServer();
});
afterAll(() => s?.close());

test.skipIf(files.length === 0)(`real fixtures are stored and read back parse-equal (${files.length ? files.length + " files" : "skipped: ../shared/fixtures/real is absent"})`, async () => {
  const res = await s.client.createResult({ parent: "fixtures", result: { name: "fixtures/results/all" } });
  const created = new Map<string, unknown>();
  for (const [i, f] of files.entries()) {
    const bytes = readFileSync(join(dir, f));
    const doc = JSON.parse(bytes.toString("utf8"));
    const type = `${doc.apiVersion ?? "tekton.dev/v1"}.${doc.kind ?? "Unknown"}`;
    const rec = await s.client.createRecord({
      parent: res.name,
      record: { name: `${res.name}/records/f${i}`, data: { type, value: new Uint8Array(bytes) } },
    });
    created.set(rec.name, doc);
    // The create response echoes the submitted bytes.
    expect(Buffer.from(rec.data!.value).equals(bytes)).toBe(true);
    // Get returns stored JSON that parses to the same value.
    expect(parse((await s.client.getRecord({ name: rec.name })).data?.value)).toEqual(doc);
  }
  // And a list returns all of them, equal too.
  const listed = await s.client.listRecords({ parent: res.name, pageSize: 1000 });
  expect(listed.records).toHaveLength(files.length);
  for (const r of listed.records) expect(parse(r.data?.value)).toEqual(created.get(r.name));
});
