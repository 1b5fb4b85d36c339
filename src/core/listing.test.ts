import { expect, test } from "bun:test";
import { AppError } from "./errors.ts";
import { pageSize, parseOrderBy } from "./listing.ts";

test("page size: 0 is 50, 5..10000 pass, the rest fail", () => {
  expect(pageSize(0)).toBe(50);
  expect(pageSize(5)).toBe(5);
  expect(pageSize(10000)).toBe(10000);
  for (const n of [-1, 1, 4, 10001, 2 ** 31 - 1]) expect(() => pageSize(n)).toThrow(AppError);
});

test("order_by grammar and upstream's messages", () => {
  const f = ["create_time", "update_time"] as const;
  expect(parseOrderBy("", f)).toBeNull();
  expect(parseOrderBy("  create_time  ", f)).toEqual({ field: "create_time", desc: false });
  expect(parseOrderBy("create_time DESC", f)).toEqual({ field: "create_time", desc: true });
  expect(parseOrderBy("update_time asc", f)).toEqual({ field: "update_time", desc: false });
  expect(() => parseOrderBy("update_timedesc", f)).toThrow(AppError); // the field swallows "desc", as upstream
  const msg = (s: string) => {
    try {
      parseOrderBy(s, f);
    } catch (e) {
      return (e as AppError).message;
    }
    return "";
  };
  expect(msg("create_time asc foo")).toContain("invalid order by statement");
  expect(msg("create_time asc foo")).toContain("<create_time|update_time> [asc|desc]");
  expect(msg("create_time Asc")).toContain("invalid order by statement");
  expect(msg("created_time")).toContain("created_time: field is unknown or cannot be used in the order by clause");
});
