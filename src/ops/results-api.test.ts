import { expect, test } from "bun:test";
import { LogReadError, logUrl, unframe } from "./results-api.ts";

async function collect(chunks: Uint8Array[], size: number): Promise<string> {
  const out: Uint8Array[] = [];
  for await (const c of unframe((async function* () { yield* chunks; })(), size, "x")) out.push(c);
  return Buffer.concat(out).toString();
}

/** Upstream's gateway framing: every message of `size` bytes (the last shorter) followed by "\n". */
function framed(log: string, size: number): string {
  let s = "";
  for (let i = 0; i < log.length; i += size) s += log.slice(i, i + size) + "\n";
  return s;
}

/** Splits a string into byte arrays at the given cuts. */
const cut = (s: string, every: number) => {
  const b = Buffer.from(s);
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.byteLength; i += every) out.push(b.subarray(i, i + every));
  return out;
};

test("unframe gives back the log upstream's gateway framed, however the answer arrives", async () => {
  for (const log of ["", "a", "line\n", "0123456789", "0123456789ab", "line one\nline two\n\n\nend"]) {
    for (const every of [1, 3, 64]) expect(await collect(cut(framed(log, 5), every), 5)).toBe(log);
  }
});

test("unframe refuses an answer that is not framed so (another buffer size, an error appended)", async () => {
  await expect(collect(cut("0123456789\n", 4), 5)).rejects.toBeInstanceOf(LogReadError);
  await expect(collect(cut("01234\n56", 4), 5)).rejects.toThrow("ends without its message delimiter");
});

test("logUrl: upstream's REST GetLog path for a Log record", () => {
  expect(logUrl("https://h/", "ci/results/r-1/records/abc")).toBe("https://h/apis/results.tekton.dev/v1alpha2/parents/ci/results/r-1/logs/abc");
  expect(() => logUrl("https://h", "ci/results/r")).toThrow(LogReadError);
});
