import { expect, test } from "bun:test";
import { formatDuration, parseSummaryRequest } from "./summary.ts";

test("durations print as Postgres interval text", () => {
  expect(formatDuration(0)).toBe("00:00:00");
  expect(formatDuration(76_218_750)).toBe("00:01:16.21875");
  expect(formatDuration(90_061_000_001)).toBe("1 day 01:01:01.000001");
  expect(formatDuration(2 * 86_400_000_000)).toBe("2 days 00:00:00");
  expect(formatDuration(-1_500_000)).toBe("-00:00:01.5");
});

test("summary requests: defaults and grammar", () => {
  expect(parseSummaryRequest("", "", "").aggregates).toEqual(["total"]);
  expect(parseSummaryRequest("total,total,failed", "", "").aggregates).toEqual(["total", "failed"]);
  expect(parseSummaryRequest("total", "day", "").groupBy).toEqual({ kind: "time", unit: "day", field: "creationTimestamp" });
  expect(parseSummaryRequest("total", "hour completionTime", "total asc").orderBy).toEqual({ field: "total", desc: false });
  expect(parseSummaryRequest("total", "", "garbage").orderBy).toBeNull();
  expect(() => parseSummaryRequest("total", "day  startTime", "")).toThrow(/group_by/);
});
