/**
 * Reading a REST request body, defensively: a size limit checked before and
 * while reading (413, code 8), a JSON content type (415, code 3), strict
 * UTF-8, a nesting limit, and a JSON object at the top. Each failure is an
 * AppError with a message that says what was wrong; nothing is stored.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import { AppError, invalidArgument, resourceExhausted } from "../../core/errors.ts";

/** Nesting deeper than this is refused; Tekton's request bodies nest 3 levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Types read as JSON. Upstream reads every type as JSON; besides JSON itself
 * this keeps curl's default for `-d` (form-urlencoded) and text/plain, which
 * clients use to avoid CORS preflights, and refuses the rest (multipart,
 * XML, octet-stream...), whose bodies cannot be JSON.
 */
function isJsonType(contentType: string): boolean {
  const [mime = "", ...params] = contentType.toLowerCase().split(";").map((s) => s.trim());
  const charset = params.find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return false;
  return (
    mime === "" ||
    mime === "application/json" ||
    (mime.startsWith("application/") && mime.endsWith("+json")) ||
    mime === "text/json" ||
    mime === "text/plain" ||
    mime === "application/x-www-form-urlencoded"
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

const tooLarge = (limit: number, what: string) =>
  resourceExhausted(`request body ${what} is larger than the limit of ${limit} bytes`, 413);

/** The body's bytes, or null when there is none. */
async function readBytes(req: Request, limit: number): Promise<Uint8Array | null> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit, `(${declared} bytes)`);
  if (!req.body) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit, `(over ${size} bytes so far)`);
    }
    chunks.push(value);
  }
  if (size === 0) return null;
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** The depth of the deepest object or array, scanning outside strings; stops past `max`. */
export function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 || c === 91) {
      if (++depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return deepest;
}

/**
 * The body as a JSON object, or undefined when the body is empty (as
 * grpc-gateway, which leaves the body field unset then).
 */
export async function readJsonBody(req: Request, limit: number): Promise<JsonObject | undefined> {
  const type = req.headers.get("content-type") ?? "";
  if (!isJsonType(type)) {
    // Refused before reading: a wrong type is the client's mistake whatever the body.
    throw new AppError("invalid_argument", `unsupported content type ${JSON.stringify(type.slice(0, 100))}: send application/json (UTF-8)`, 415);
  }
  const bytes = await readBytes(req, limit);
  if (bytes === null) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw invalidArgument("request body is not valid UTF-8");
  }
  if (text.trim() === "") return undefined;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw invalidArgument(`request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw invalidArgument(`request body must be a JSON object, not ${doc === null ? "null" : Array.isArray(doc) ? "an array" : typeof doc}`);
  }
  return doc as JsonObject;
}
