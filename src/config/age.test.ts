import { expect, test } from "bun:test";
import { formatAge, parseAge } from "./age.ts";
import { ConfigError } from "./errors.ts";

const DAY = 86_400_000;

test("ages: days, hours, minutes, weeks, combinations, bare numbers as days, forever", () => {
  expect(parseAge("90d", "k")).toBe(90 * DAY);
  expect(parseAge("1d12h", "k")).toBe(36 * 3_600_000);
  expect(parseAge("30m", "k")).toBe(30 * 60_000);
  expect(parseAge("2w", "k")).toBe(14 * DAY);
  expect(parseAge("30", "k")).toBe(30 * DAY);
  expect(parseAge(" forever ", "k")).toBeNull();
});

test("a bad age names its source and gives examples", () => {
  expect(() => parseAge("soon", "retention.maxAge")).toThrow(ConfigError);
  expect(() => parseAge("soon", "retention.maxAge")).toThrow(/^retention.maxAge: "soon" is not an age \(examples: 90d/);
  expect(() => parseAge("-1d", "k")).toThrow(/not an age/);
  expect(() => parseAge("30s", "k")).toThrow(/shorter than a minute/);
});

test("formatting picks the largest whole unit", () => {
  expect([formatAge(90 * DAY), formatAge(36 * 3_600_000), formatAge(90 * 60_000), formatAge(null), formatAge(14 * DAY)]).toEqual(["90d", "36h", "90m", "forever", "14d"]);
});
