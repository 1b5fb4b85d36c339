// Pages framed in place: grpc-js's serializeMessage, patched, writes the
// frame header into the room before a page instead of copying the page.
import { expect, test } from "bun:test";
import * as interceptors from "@grpc/grpc-js/build/src/server-interceptors.js";
import { framePagesInPlace, hasFrameRoom, withFrameRoom } from "./framed.ts";

type Serialize = (this: { handler: { serialize: (v: unknown) => Buffer } }, v: unknown) => Buffer;
const serializeMessage = () => (interceptors.BaseServerInterceptingCall.prototype as unknown as { serializeMessage: Serialize }).serializeMessage;
const call = (value: Buffer) => serializeMessage().call({ handler: { serialize: (v) => v as Buffer } }, value);

test("grpc-js's serializeMessage is where the patch expects it (a grpc-js update that moves it fails here)", () => {
  expect(framePagesInPlace()).toBe(true);
  expect(framePagesInPlace()).toBe(true); // once
});

test("a page with frame room is framed in place: header before the same bytes, no copy; the same page framed twice is the same frame", () => {
  framePagesInPlace();
  const body = withFrameRoom(300);
  body.fill(7);
  expect(hasFrameRoom(body)).toBe(true);
  const frame = call(body);
  expect(frame.buffer).toBe(body.buffer);
  expect(frame.byteOffset).toBe(body.byteOffset - 5);
  expect([...frame.subarray(0, 5)]).toEqual([0, 0, 0, 1, 44]);
  expect(frame.subarray(5).equals(body)).toBe(true);
  expect(call(body).equals(frame)).toBe(true);
});

test("any other answer is copied behind a fresh header, as grpc-js does", () => {
  framePagesInPlace();
  const body = Buffer.from("plain answer");
  expect(hasFrameRoom(body)).toBe(false);
  const frame = call(body);
  expect(frame.buffer).not.toBe(body.buffer);
  expect([...frame.subarray(0, 5)]).toEqual([0, 0, 0, 0, body.byteLength]);
  expect(frame.subarray(5).toString()).toBe("plain answer");
});
