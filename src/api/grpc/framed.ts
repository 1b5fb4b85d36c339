/**
 * Large answers framed in place. grpc-js sends a message as a 5-byte frame
 * header followed by the serialized bytes, and builds that frame by
 * allocating header + message and copying the message in: for a 0.6-1.2 MB
 * ListRecords page, a second page-sized buffer per call, which the heap
 * then carries as garbage until it is collected. A page built by
 * `withFrameRoom` keeps five free bytes in front of it; the patched
 * serializeMessage writes the header there and hands grpc-js the widened
 * view, with no copy. Writing the header again for the same bytes writes
 * the same five bytes, so a cached page can be sent by several calls at once.
 *
 * grpc-js keeps serializeMessage on an exported class of an internal
 * module; if an update moves or renames it, `framePagesInPlace` leaves
 * grpc-js as it is (answers are then copied, as before) and says so.
 */
import * as interceptors from "@grpc/grpc-js/build/src/server-interceptors.js";

/** Bytes of the gRPC frame header (compressed flag, 4-byte length). */
export const FRAME_HEADER = 5;
const roomy = new WeakSet<Uint8Array>();

/** `n` writable bytes with room for the gRPC frame header before them. */
export function withFrameRoom(n: number): Buffer {
  return frameRoomIn(Buffer.allocUnsafe(n + FRAME_HEADER), n);
}

/** The first `n` bytes after the frame header's room in `whole` (at least n + 5 bytes), as a framable body. */
export function frameRoomIn(whole: Buffer, n: number): Buffer {
  const body = whole.subarray(FRAME_HEADER, FRAME_HEADER + n);
  roomy.add(body);
  return body;
}

/** Whether `b` was made by withFrameRoom (for tests). */
export const hasFrameRoom = (b: Uint8Array) => roomy.has(b);

let patched: boolean | null = null;

/** Patches grpc-js (once) to frame withFrameRoom buffers in place; false when its internals are not where expected. */
export function framePagesInPlace(): boolean {
  if (patched !== null) return patched;
  const proto = (interceptors as unknown as { BaseServerInterceptingCall?: { prototype: Record<string, unknown> } }).BaseServerInterceptingCall?.prototype;
  const original = proto?.serializeMessage;
  if (!proto || typeof original !== "function" || original.length !== 1) return (patched = false);
  proto.serializeMessage = function (this: { handler: { serialize: (v: unknown) => Buffer } }, value: unknown): Buffer {
    const body = this.handler.serialize(value);
    if (!roomy.has(body)) {
      const out = Buffer.allocUnsafe(body.byteLength + FRAME_HEADER);
      out.writeUInt8(0, 0); // not compressed: grpc-js does not compress answers
      out.writeUInt32BE(body.byteLength, 1);
      body.copy(out, FRAME_HEADER);
      return out;
    }
    const frame = Buffer.from(body.buffer, body.byteOffset - FRAME_HEADER, body.byteLength + FRAME_HEADER);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(body.byteLength, 1);
    return frame;
  };
  return (patched = true);
}
