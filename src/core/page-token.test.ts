import { expect, test } from "bun:test";
import { AppError } from "./errors.ts";
import { decodePageToken, encodePageToken, type PageTokenState } from "./page-token.ts";

const key = new Uint8Array(32).fill(1);
const state: PageTokenState = {
  kind: "records",
  parent: "ns/results/-",
  filter: 'data_type == "x"',
  order: { field: "create_time", desc: true },
  last: { value: 1_700_000_000_123_456, uid: "01a2-..." },
};

test("round-trips, and is URL-safe", () => {
  const t = encodePageToken(key, state);
  expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(decodePageToken(key, t)).toEqual(state);
  const nullValue = { ...state, order: null, last: { value: null, uid: "u" } };
  expect(decodePageToken(key, encodePageToken(key, nullValue))).toEqual(nullValue);
});

test("another key, any flipped bit, truncation or padding is rejected as INVALID_ARGUMENT", () => {
  const t = encodePageToken(key, state);
  const raw = Buffer.from(t, "base64url");
  const variants = [encodePageToken(new Uint8Array(32).fill(2), state), t.slice(1), t + "A", t + "==", ""];
  for (let i = 0; i < raw.length; i += 7) {
    const b = Buffer.from(raw);
    b[i] = b[i]! ^ 0x10;
    variants.push(b.toString("base64url"));
  }
  for (const v of variants) {
    if (v === "") continue;
    expect(() => decodePageToken(key, v)).toThrow(AppError);
    try {
      decodePageToken(key, v);
    } catch (e) {
      expect((e as AppError).code).toBe("invalid_argument");
    }
  }
});
