/**
 * Page tokens: opaque to clients, tamper-evident to us. A token carries the
 * list's parent, filter and order plus the keyset position of the last row
 * returned, and an HMAC over all of it with a key kept in the database. An
 * edited token fails the MAC; a token reused with another parent, filter or
 * order fails the comparison. Both are INVALID_ARGUMENT, never INTERNAL
 * (upstream answers INTERNAL for an undecodable token; docs/compatibility.md).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { invalidArgument } from "./errors.ts";
import type { Order, OrderField } from "./types.ts";

const MAC_BYTES = 16;
const VERSION = 1;

export interface PageTokenState {
  kind: "results" | "records" | "logs";
  parent: string;
  filter: string;
  order: Order | null;
  last: { value: number | null; uid: string };
}

type Wire = [number, string, string, string, string | null, boolean, number | null, string];

function mac(key: Uint8Array, payload: Uint8Array): Buffer {
  return createHmac("sha256", key).update(payload).digest().subarray(0, MAC_BYTES);
}

export function encodePageToken(key: Uint8Array, s: PageTokenState): string {
  const wire: Wire = [
    VERSION,
    s.kind,
    s.parent,
    s.filter,
    s.order?.field ?? null,
    s.order?.desc ?? false,
    s.last.value,
    s.last.uid,
  ];
  const payload = Buffer.from(JSON.stringify(wire));
  return Buffer.concat([payload, mac(key, payload)]).toString("base64url");
}

const bad = (why: string) => invalidArgument(`invalid page token: ${why}`);

/** Decodes and authenticates a token; throws INVALID_ARGUMENT on any defect. */
export function decodePageToken(key: Uint8Array, token: string): PageTokenState {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad("not a token issued by this server");
  const raw = Buffer.from(token, "base64url");
  // Only the canonical encoding is accepted, so no two strings name one token.
  if (raw.length <= MAC_BYTES || raw.toString("base64url") !== token) throw bad("not a token issued by this server");
  const payload = raw.subarray(0, raw.length - MAC_BYTES);
  if (!timingSafeEqual(raw.subarray(raw.length - MAC_BYTES), mac(key, payload))) {
    throw bad("not a token issued by this server, or it was modified");
  }
  let w: Wire;
  try {
    w = JSON.parse(payload.toString("utf8")) as Wire;
  } catch {
    throw bad("malformed");
  }
  if (!Array.isArray(w) || w[0] !== VERSION || w.length !== 8) throw bad("unsupported version");
  return {
    kind: w[1] as PageTokenState["kind"],
    parent: w[2],
    filter: w[3],
    order: w[4] === null ? null : { field: w[4] as OrderField, desc: w[5] },
    last: { value: w[6], uid: w[7] },
  };
}
