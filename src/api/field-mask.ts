/**
 * Partial responses (AIP-157, upstream's `fields`): a comma-separated list of
 * proto field paths prunes a response message before it is sent. Shared by
 * both transports (REST query parameter `fields`, gRPC metadata `fields`), so
 * they prune alike. The semantics are upstream's:
 *
 * - a populated field not named by the mask is cleared; a path that stops at
 *   a field keeps it whole; unknown names match nothing (and are no error);
 * - a repeated message field applies the rest of the path to every element;
 *   a map keeps only the keys named;
 * - a `bytes` field holding a JSON document (Record `data.value`) applies the
 *   rest of the path to the document and is replaced by the pruned document,
 *   where a path missing from the document appears as `null`; array elements
 *   are reached by index (`status.conditions.0`), not filtered;
 * - paths are normalised first: "a" covers "a.b".
 *
 * An empty list of paths means "the whole response".
 */
import type { DescField, DescMessage, JsonObject, MessageShape } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";

/** A mask node: child names to their masks; an empty node keeps the field whole. */
export type Mask = Map<string, Mask>;

/** Splits raw `fields` values ("a.b, c") into trimmed, non-empty paths. */
export function parseFieldPaths(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const p of v.split(",")) {
      const t = p.trim();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

/** Builds the mask tree; null when there is nothing to prune by. */
export function buildMask(paths: readonly string[]): Mask | null {
  if (paths.length === 0) return null;
  const root: Mask = new Map();
  // Shorter paths first, so a path covered by an earlier one is dropped as
  // fieldmaskpb.Normalize drops it.
  const sorted = [...paths].sort((a, b) => a.split(".").length - b.split(".").length);
  for (const path of sorted) {
    const parts = path.split(".");
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const existing = node.get(parts[i]!);
      if (existing && existing.size === 0) break; // covered by a shorter path
      if (i === parts.length - 1) {
        node.set(parts[i]!, new Map());
      } else if (existing) {
        node = existing;
      } else {
        const child: Mask = new Map();
        node.set(parts[i]!, child);
        node = child;
      }
    }
  }
  return root;
}

/** Prunes `msg` in place by `paths` (proto field names) and returns it. */
export function applyFieldMask<D extends DescMessage>(desc: D, msg: MessageShape<D>, paths: readonly string[]): MessageShape<D> {
  const mask = buildMask(paths);
  if (mask) filterMessage(reflect(desc, msg), mask);
  return msg;
}

const STRUCT = "google.protobuf.Struct";

function filterMessage(r: ReflectMessage, mask: Mask): void {
  for (const f of r.fields) {
    if (!r.isSet(f)) continue;
    const sub = mask.get(f.name);
    if (!sub) {
      r.clear(f);
      continue;
    }
    if (sub.size === 0) continue;
    filterField(r, f, sub);
  }
}

function filterField(r: ReflectMessage, f: DescField, sub: Mask): void {
  switch (f.fieldKind) {
    case "message":
      if (f.message.typeName === STRUCT) filterStruct((r.message as unknown as Record<string, JsonObject>)[f.localName]!, sub);
      else filterMessage(r.get(f) as ReflectMessage, sub);
      return;
    case "list":
      if (f.listKind !== "message") return;
      if (f.message.typeName === STRUCT) {
        for (const o of (r.message as unknown as Record<string, JsonObject[]>)[f.localName]!) filterStruct(o, sub);
      } else {
        for (const item of r.get(f)) filterMessage(item as ReflectMessage, sub);
      }
      return;
    case "map": {
      const m = r.get(f);
      for (const [k] of [...m]) {
        const s = sub.get(String(k));
        if (!s) m.delete(k);
        else if (s.size > 0 && f.mapKind === "message") filterMessage(m.get(k) as ReflectMessage, s);
      }
      return;
    }
    case "scalar":
      if (f.scalar === ScalarType.BYTES) {
        const pruned = pruneJsonBytes(r.get(f) as Uint8Array, sub);
        if (pruned) r.set(f, pruned);
      }
      return;
    default:
      return;
  }
}

/**
 * google.protobuf.Struct is held as a plain object by the generated code. As
 * a message it has one field, `fields` (a map), so upstream's mask keeps its
 * content only under `<path>.fields[.key]`; anything else empties it.
 */
function filterStruct(o: JsonObject, sub: Mask): void {
  const fields = sub.get("fields");
  for (const k of Object.keys(o)) {
    if (!fields || (fields.size > 0 && !fields.has(k))) delete o[k];
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** The pruned JSON document, or null when the bytes are not JSON (kept as they are). */
function pruneJsonBytes(bytes: Uint8Array, mask: Mask): Uint8Array | null {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(bytes));
  } catch {
    return null;
  }
  return encoder.encode(JSON.stringify(pruneJson(doc, mask, [])));
}

function pruneJson(doc: unknown, mask: Mask, path: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, sub] of mask) {
    path.push(k);
    out[k] = sub.size === 0 ? (lookup(doc, path) ?? null) : pruneJson(doc, sub, path);
    path.pop();
  }
  return out;
}

/** Follows object keys and array indexes from the document's root. */
function lookup(doc: unknown, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const p of path) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(p)) return undefined;
      cur = cur[Number(p)];
    } else if (cur !== null && typeof cur === "object") {
      cur = Object.hasOwn(cur, p) ? (cur as Record<string, unknown>)[p] : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}
