/**
 * A Record's protobuf encoding, written straight into one buffer of the
 * exact size. bufbuild's toBinary grows its buffer by doubling, writes the
 * nested Any through a fork and join, and copies the result out; for a
 * 12 KB document that is three copies and as many allocations, on every
 * CreateRecord, UpdateRecord and GetRecord answer and every record a list
 * encodes. The bytes are the same as toBinary's (fields in field-number
 * order, proto3 defaults left out, set messages written even when empty);
 * record-binary.test.ts compares the two over fixtures and edge cases.
 * A message carrying unknown fields is left to toBinary.
 */
import { toBinary } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { AnySchema, RecordSchema, type Record as RecordMsg } from "../../gen/resources_pb.ts";
import { withFrameRoom } from "./framed.ts";
import { varintSize, writeVarint } from "./varint.ts";

// Fail at start, not with wrong bytes, if the proto changes.
const layout = (fields: ReadonlyArray<{ number: number; name: string }>) => fields.map((f) => `${f.number}:${f.name}`).join(",");
if (layout(RecordSchema.fields) !== "1:name,2:id,7:uid,3:data,4:etag,5:created_time,8:create_time,6:updated_time,9:update_time")
  throw new Error(`Record is ${layout(RecordSchema.fields)}; grpc/record-binary.ts writes another layout`);
if (layout(AnySchema.fields) !== "1:type,2:value") throw new Error(`Any is ${layout(AnySchema.fields)}; grpc/record-binary.ts writes 1:type,2:value`);

const LEN = 2; // wire type: length-delimited
const tag = (field: number) => (field << 3) | LEN;

/** A 64-bit varint (int64 and negative int32 take ten bytes), as little-endian 7-bit groups. */
function varint64Bytes(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

/** The body of a Timestamp message (seconds = 1, nanos = 2, both left out when 0). */
function timestampBody(t: Timestamp): number[] {
  const out: number[] = [];
  if (t.seconds !== 0n) out.push(0x08, ...varint64Bytes(t.seconds));
  if (t.nanos !== 0) out.push(0x10, ...varint64Bytes(BigInt(t.nanos)));
  return out;
}

const hasUnknown = (m: { $unknown?: unknown[] } | undefined) => m?.$unknown !== undefined && m.$unknown.length > 0;

/**
 * The encoding of `m`. With `frameRoom`, the buffer keeps room for the gRPC
 * frame header in front (see framed.ts): for answers sent as they are.
 */
export function recordBinary(m: RecordMsg, frameRoom = false): Uint8Array {
  if (hasUnknown(m) || hasUnknown(m.data) || [m.createdTime, m.updatedTime, m.createTime, m.updateTime].some(hasUnknown)) return toBinary(RecordSchema, m);
  // Field-number order, as toBinary writes them.
  let size = 0;
  /** Bytes of a length-delimited field (tag, length, body) whose body is `n` bytes. */
  const field = (n: number) => 1 + varintSize(n) + n;
  const str = (s: string) => (s === "" ? 0 : field(Buffer.byteLength(s)));
  const time = (t: Timestamp | undefined) => (t === undefined ? null : timestampBody(t));
  const created = time(m.createdTime);
  const updated = time(m.updatedTime);
  const create = time(m.createTime);
  const update = time(m.updateTime);
  const msgSize = (body: number[] | null) => (body === null ? 0 : field(body.length));
  let anyBody = 0;
  if (m.data !== undefined) {
    anyBody = str(m.data.type) + (m.data.value.byteLength === 0 ? 0 : field(m.data.value.byteLength));
  }
  size += str(m.name) + str(m.id) + (m.data === undefined ? 0 : field(anyBody)) + str(m.etag);
  size += msgSize(created) + msgSize(updated) + str(m.uid) + msgSize(create) + msgSize(update);

  const out = frameRoom ? withFrameRoom(size) : Buffer.allocUnsafe(size);
  let at = 0;
  const varint = (n: number) => {
    at = writeVarint(out, at, n);
  };
  const writeString = (field: number, s: string) => {
    if (s === "") return;
    out[at++] = tag(field);
    varint(Buffer.byteLength(s));
    at += out.write(s, at, "utf8");
  };
  const writeMessage = (field: number, body: number[] | null) => {
    if (body === null) return;
    out[at++] = tag(field);
    varint(body.length);
    for (const b of body) out[at++] = b;
  };
  writeString(1, m.name);
  writeString(2, m.id);
  if (m.data !== undefined) {
    out[at++] = tag(3);
    varint(anyBody);
    writeString(1, m.data.type);
    if (m.data.value.byteLength > 0) {
      out[at++] = tag(2);
      varint(m.data.value.byteLength);
      out.set(m.data.value, at);
      at += m.data.value.byteLength;
    }
  }
  writeString(4, m.etag);
  writeMessage(5, created);
  writeMessage(6, updated);
  writeString(7, m.uid);
  writeMessage(8, create);
  writeMessage(9, update);
  if (at !== size) throw new Error(`record-binary: wrote ${at} bytes of ${size}`);
  return out;
}
