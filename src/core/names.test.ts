import { expect, test } from "bun:test";
import { AppError } from "./errors.ts";
import { parseLogName, parseRecordName, parseResultName, RESULT_NAME_PATTERN } from "./names.ts";

test("result names: upstream's accepted and rejected examples", () => {
  expect(parseResultName("a/results/b")).toEqual({ parent: "a", result: "b" });
  expect(parseResultName("results/results/results")).toEqual({ parent: "results", result: "results" });
  expect(parseResultName("-/results/-")).toEqual({ parent: "-", result: "-" });
  for (const bad of ["a/results/", "a/results", "/results/b", "results/b", "a/record/b", "a/b/results/c", "a/results/b/c", "a/results/" + "x".repeat(64), "A/results/b", "a.b/results/c", "a/results/b\n", ""]) {
    expect(() => parseResultName(bad)).toThrow(AppError);
  }
  expect(parseResultName("a/results/" + "x".repeat(63)).result).toHaveLength(63);
});

test("record names: upstream's accepted and rejected examples", () => {
  expect(parseRecordName("a/results/b/records/c")).toEqual({ parent: "a", result: "b", record: "c" });
  expect(parseRecordName("results/results/records/records/records").record).toBe("records");
  for (const bad of ["a/results/b/records/", "records/b", "a/tacocat/b/records/c", "a/results/b/records/c/d", "a/results/b"]) {
    expect(() => parseRecordName(bad)).toThrow(AppError);
  }
});

test("log names use /logs/", () => {
  expect(parseLogName("a/results/b/logs/c")).toEqual({ parent: "a", result: "b", record: "c" });
  expect(() => parseLogName("a/results/b/records/c")).toThrow(AppError);
});

test("errors are INVALID_ARGUMENT, name the field and quote upstream's regex", () => {
  try {
    parseResultName("nope", "result.name");
    throw new Error("unreachable");
  } catch (e) {
    expect((e as AppError).code).toBe("invalid_argument");
    expect((e as AppError).message).toContain("result.name");
    expect((e as AppError).message).toContain(`name must match ${RESULT_NAME_PATTERN}`);
  }
});

test("huge names are truncated in messages", () => {
  try {
    parseResultName("x".repeat(100_000));
  } catch (e) {
    expect((e as AppError).message.length).toBeLessThan(300);
  }
});
