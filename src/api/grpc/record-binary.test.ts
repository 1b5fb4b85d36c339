// The hand-written Record encoder writes exactly what bufbuild's toBinary writes.
import { expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { AnySchema, RecordSchema, type Record as RecordMsg } from "../../gen/resources_pb.ts";
import { hasFrameRoom } from "./framed.ts";
import { recordBinary } from "./record-binary.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const PIECES = ["", "a", "ns/results/r/records/x", "ünïcødé", "😀 emoji", "quote\"back\\slash", "\u0000nul", "x".repeat(200), "日本語".repeat(50)];

function randomRecord(r: () => number): RecordMsg {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const str = () => pick(PIECES);
  const ts = () => {
    const k = r();
    if (k < 0.2) return undefined;
    const seconds = k < 0.3 ? 0n : k < 0.4 ? -BigInt(Math.floor(r() * 1e10)) : BigInt(Math.floor(r() * 4e9));
    const nanos = k < 0.5 ? 0 : k < 0.55 ? -Math.floor(r() * 1e9) : Math.floor(r() * 1e9);
    return create(TimestampSchema, { seconds, nanos });
  };
  const k = r();
  const data =
    k < 0.15
      ? undefined
      : create(AnySchema, {
          type: str(),
          value: k < 0.25 ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify({ metadata: { name: str() }, spec: "y".repeat(Math.floor(r() * 20000)) })),
        });
  return create(RecordSchema, { name: str(), id: str(), uid: str(), data, etag: str(), createdTime: ts(), createTime: ts(), updatedTime: ts(), updateTime: ts() });
}

test("2,000 random records (empty and unicode strings, no or empty data, missing, zero and negative timestamps, up to 20 KB documents) encode to toBinary's bytes", () => {
  const r = rng(42);
  for (let i = 0; i < 2000; i++) {
    const m = randomRecord(r);
    const want = toBinary(RecordSchema, m);
    const got = recordBinary(m);
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    expect(Buffer.from(recordBinary(m, true)).equals(Buffer.from(want))).toBe(true);
  }
});

test("a record's maximal varints: int64 extremes and a 2^31-1 nanos", () => {
  const m = create(RecordSchema, {
    name: "n",
    createTime: create(TimestampSchema, { seconds: 9223372036854775807n, nanos: 2147483647 }),
    updateTime: create(TimestampSchema, { seconds: -9223372036854775808n, nanos: -2147483648 }),
  });
  expect(Buffer.from(recordBinary(m)).equals(Buffer.from(toBinary(RecordSchema, m)))).toBe(true);
});

test("with frame room the encoding keeps room for the gRPC header; without, it does not", () => {
  const m = randomRecord(rng(7));
  expect(hasFrameRoom(recordBinary(m, true))).toBe(true);
  expect(hasFrameRoom(recordBinary(m))).toBe(false);
});

test("a message with unknown fields is encoded by toBinary, unknown fields included", () => {
  const withUnknown = fromBinary(RecordSchema, new Uint8Array([...toBinary(RecordSchema, create(RecordSchema, { name: "n" })), 0x78, 0x01])); // field 15, varint 1
  expect(withUnknown.$unknown?.length).toBe(1);
  expect(Buffer.from(recordBinary(withUnknown)).equals(Buffer.from(toBinary(RecordSchema, withUnknown)))).toBe(true);
});
