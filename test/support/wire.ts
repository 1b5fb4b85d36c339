/** Small helpers for assertions on wire messages. */
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export const nanos = (t: Timestamp | undefined): bigint => (t ? t.seconds * 1_000_000_000n + BigInt(t.nanos) : -1n);

/** The etag formula: "<uid>-<update_time in Unix nanoseconds>". */
export const expectedEtag = (uid: string, t: Timestamp | undefined) => `${uid}-${nanos(t)}`;

export const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
export const parse = (b: Uint8Array | undefined) => (b ? JSON.parse(new TextDecoder().decode(b)) : undefined);

let n = 0;
/** A fresh parent name per test, so tests sharing a server never see each other's data. */
export const uniqueParent = (prefix = "p") => `${prefix}-${process.pid % 10000}-${++n}`;
