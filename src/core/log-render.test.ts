import { expect, test } from "bun:test";
import { LinePrefixer, renderedSize, renderLog, stepPrefix } from "./log-render.ts";
import type { LogPart } from "./store.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function part(text: string, id = 1): LogPart {
  const nl = [...text].filter((c) => c === "\n").length;
  return { id, idx: 0, staging: false, label: "x", namespace: null, pod: null, container: null, bytes: enc(text).byteLength, lines: nl, openLine: text !== "" && !text.endsWith("\n"), chunks: 1, resume: null, done: true, note: null };
}

test("every line gets the prefix, across chunk boundaries that split lines anywhere", () => {
  const text = "one\ntwo\n\nthree and more\nlast";
  for (let cut = 0; cut <= text.length; cut++) {
    const p = new LinePrefixer(stepPrefix("build"));
    const out = [p.push(enc(text.slice(0, cut))), p.push(enc(text.slice(cut))), p.end() ?? new Uint8Array()].map(dec).join("");
    expect(out).toBe("[build] one\n[build] two\n[build] \n[build] three and more\n[build] last\n");
  }
});

test("renderedSize equals the bytes renderLog yields, with and without prefix", async () => {
  for (const text of ["a\nb\n", "a\nb", "", "\n\n", "x"]) {
    for (const prefix of [stepPrefix("s"), null]) {
      const seg = { part: part(text), prefix };
      let n = 0;
      for await (const c of renderLog([seg], () => enc(text), () => new Error("gone"))) n += c.byteLength;
      expect(n).toBe(renderedSize(seg));
    }
  }
});

test("a chunk deleted while reading ends the stream with the given error", async () => {
  const it = renderLog([{ part: { ...part("a\n"), chunks: 2 }, prefix: null }], (_p, seq) => (seq === 0 ? enc("a\n") : null), () => new Error("gone"));
  expect(dec((await it.next()).value as Uint8Array)).toBe("a\n");
  await expect(it.next()).rejects.toThrow("gone");
});
