import { expect, test } from "bun:test";
import { formatLogLine, LOG_LINE_BYTES, parseLogLine, pieces, type PartMeta } from "./log-lines.ts";

const meta: PartMeta = { idx: 2, label: "step-build", namespace: "ci", pod: "p-1", container: "step-build", done: true, note: null, resume: '{"t":"2026-01-01T00:00:00Z"}', bytes: 10 };
const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);

test("pieces cuts a stream into pieces of exactly the size asked, the last one shorter, keeping every byte in order", () => {
  const input = [bytes(3), bytes(0), bytes(10, 1), bytes(1, 2), bytes(7, 3)];
  const all = Buffer.concat(input);
  for (const size of [1, 4, 7, 21, 22, 100]) {
    const out = [...pieces(input, size)];
    expect(Buffer.concat(out).equals(all)).toBe(true);
    expect(out.slice(0, -1).every((p) => p.byteLength === size)).toBe(true);
    expect(out.at(-1)!.byteLength).toBe(all.byteLength % size || Math.min(size, all.byteLength));
  }
  expect([...pieces([], 4)]).toEqual([]);
});

test("a line reads back as written", () => {
  const data = bytes(10);
  const line = formatLogLine("ci/results/r/records/l", meta, 0, data);
  const o = JSON.parse(line) as { log: unknown };
  expect(Object.keys(o)).toEqual(["log"]);
  const back = parseLogLine(o.log);
  expect(back.record).toBe("ci/results/r/records/l");
  expect(back.part).toEqual(meta);
  expect(back.offset).toBe(0);
  expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
  // An upload part: no source, no label.
  const up = { ...meta, label: "", namespace: null, pod: null, container: null, resume: null, bytes: 0 };
  expect(parseLogLine((JSON.parse(formatLogLine("a/results/b/records/c", up, 0, new Uint8Array(0))) as { log: unknown }).log).part).toEqual(up);
});

test("bad shapes and bad base64 are refused naming the field", () => {
  const good = () => JSON.parse(formatLogLine("ci/results/r/records/l", meta, 0, bytes(4))).log as Record<string, unknown>;
  const bad = (change: (o: Record<string, unknown>) => void) => {
    const o = good();
    change(o);
    return () => parseLogLine(o);
  };
  expect(() => parseLogLine("x")).toThrow('"log" must be an object');
  expect(bad((o) => delete o.record)).toThrow("log.record");
  expect(bad((o) => (o.part = 1))).toThrow("log.part: must be an object");
  expect(bad((o) => ((o.part as Record<string, unknown>).idx = -1))).toThrow("log.part.idx");
  expect(bad((o) => ((o.part as Record<string, unknown>).bytes = 1.5))).toThrow("log.part.bytes");
  expect(bad((o) => ((o.part as Record<string, unknown>).pod = null))).toThrow("all or none");
  expect(bad((o) => ((o.part as Record<string, unknown>).note = 3))).toThrow("log.part.note");
  expect(bad((o) => (o.offset = "0"))).toThrow("log.offset");
  expect(bad((o) => (o.data = 12))).toThrow("log.data: must be a base64 string");
  expect(bad((o) => (o.data = "AAE*AA=="))).toThrow("log.data: not valid base64");
  expect(bad((o) => (o.data = "AAE"))).toThrow("log.data: not valid base64");
  expect(bad((o) => (o.offset = 8))).toThrow("run past the part's 10");
  const big = good();
  (big.part as Record<string, unknown>).bytes = LOG_LINE_BYTES * 2;
  big.data = Buffer.alloc(LOG_LINE_BYTES + 1).toString("base64");
  expect(() => parseLogLine(big)).toThrow("more than");
});
