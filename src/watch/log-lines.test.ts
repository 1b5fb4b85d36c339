import { expect, test } from "bun:test";
import { sinceTimeOf, timeKey, TimestampedLines } from "./log-lines.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const stamped = (lines: Array<[string, string]>) => lines.map(([ts, t]) => `${ts} ${t}\n`).join("");

const LOG: Array<[string, string]> = [
  ["2026-11-26T10:00:00.5Z", "a"],
  ["2026-11-26T10:00:01.000000001Z", "b"],
  ["2026-11-26T10:00:01.000000001Z", "c"],
  ["2026-11-26T10:00:01.25Z", "d"],
  ["2026-11-26T10:00:02Z", "e"],
];

test("time keys sort as times whatever the trimmed fraction", () => {
  expect(timeKey("2026-11-26T10:00:01.1Z") > timeKey("2026-11-26T10:00:01.09Z")).toBe(true);
  expect(timeKey("2026-11-26T10:00:01Z") < timeKey("2026-11-26T10:00:01.000000001Z")).toBe(true);
  expect(sinceTimeOf({ ts: "2026-11-26T10:00:01.25Z", n: 1 })).toBe("2026-11-26T10:00:01Z");
});

test("timestamps are stripped; split anywhere, the lines come out whole", () => {
  const text = stamped(LOG);
  for (let cut = 0; cut <= text.length; cut++) {
    const p = new TimestampedLines(null);
    p.push(new TextEncoder().encode(text.slice(0, cut)));
    p.push(new TextEncoder().encode(text.slice(cut)));
    p.end();
    expect(dec(p.take())).toBe("a\nb\nc\nd\ne\n");
    expect(p.resume).toEqual({ ts: "2026-11-26T10:00:02Z", n: 1 });
  }
});

test("resuming after any line, from the second sinceTime gives, yields exactly the rest", () => {
  for (let stored = 0; stored <= LOG.length; stored++) {
    const first = new TimestampedLines(null);
    first.push(new TextEncoder().encode(stamped(LOG.slice(0, stored))));
    const got = dec(first.take());
    const resume = first.resume;
    // The server re-sends from the whole second of the resume point.
    const since = sinceTimeOf(resume);
    const again = LOG.filter(([ts]) => !since || timeKey(ts) >= timeKey(since));
    const second = new TimestampedLines(resume);
    second.push(new TextEncoder().encode(stamped(again)));
    second.end();
    expect(got + dec(second.take())).toBe("a\nb\nc\nd\ne\n");
  }
});

test("a cut line is dropped on restart and read again whole", () => {
  const p = new TimestampedLines(null);
  p.push(new TextEncoder().encode(`${LOG[0]![0]} a\n${LOG[1]![0]} partial b`));
  p.restart();
  p.push(new TextEncoder().encode(stamped(LOG)));
  expect(dec(p.take())).toBe("a\nb\nc\nd\ne\n");
});
