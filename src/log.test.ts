import { expect, test } from "bun:test";
import { logfmt } from "./log.ts";

test("logfmt quotes what needs it, joins lists and writes objects as JSON", () => {
  expect(logfmt({ level: "info", msg: "hindsight serving", port: 5, ok: true, none: undefined, empty: "" })).toBe('level=info msg="hindsight serving" port=5 ok=true empty=""');
  expect(logfmt({ needRestart: ["readers", "db"], error: { message: "x y" }, q: 'a"b', eq: "a=b" })).toBe(
    'needRestart=readers,db error="{\\"message\\":\\"x y\\"}" q="a\\"b" eq="a=b"',
  );
});
