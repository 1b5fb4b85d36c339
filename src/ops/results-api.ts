/**
 * Reading every result and record from a Tekton Results REST API (upstream's
 * grpc-gateway routes, which Hindsight serves too): ListResults over
 * `parents/-`, then ListRecords over `parents/-/results/-`, page by page, so
 * a record is always imported after its result. A token (upstream sits
 * behind Kubernetes auth) is sent as a bearer token. With logs, each Log
 * record's bytes are read with upstream's REST GetLog (`…/logs/<id>`, the
 * rendered log as plain text), streamed.
 */
import { fromJson } from "@bufbuild/protobuf";
import { ListRecordsResponseSchema, ListResultsResponseSchema } from "../gen/api_pb.ts";
import type { Item } from "./transfer.ts";

/** The source cannot be read at all: the import stops (and can be run again). */
export class SourceError extends Error {}

/** One log could not be read: reported, and the import goes on. */
export class LogReadError extends Error {}

export interface SourceOptions {
  token?: string;
  pageSize?: number;
}

const headers = (opts: SourceOptions, accept: string): Record<string, string> => ({ accept, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) });

async function page(url: string, opts: SourceOptions): Promise<unknown> {
  let r: Response;
  try {
    r = await fetch(url, { headers: headers(opts, "application/json") });
  } catch (e) {
    throw new SourceError(`GET ${url}: ${(e as Error).message}`);
  }
  const text = await r.text();
  if (r.status !== 200) throw new SourceError(`GET ${url}: HTTP ${r.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new SourceError(`GET ${url}: the answer is not JSON (is this a Tekton Results REST address?): ${text.slice(0, 100)}`);
  }
}

/** The API root for a URL given as the server (https://host) or already ending in /apis/results.tekton.dev/v1alpha2. */
export function apiRoot(url: string): string {
  const u = url.replace(/\/+$/, "");
  return u.endsWith("/apis/results.tekton.dev/v1alpha2") ? u : `${u}/apis/results.tekton.dev/v1alpha2`;
}

export async function* readResultsApi(url: string, opts: SourceOptions = {}): AsyncGenerator<Item> {
  const root = apiRoot(url);
  const size = opts.pageSize ?? 100;
  for (let token = ""; ; ) {
    const body = await page(`${root}/parents/-/results?page_size=${size}${token ? `&page_token=${encodeURIComponent(token)}` : ""}`, opts);
    const res = fromJson(ListResultsResponseSchema, body as never, { ignoreUnknownFields: true });
    for (const result of res.results) yield { result };
    if (!res.nextPageToken) break;
    token = res.nextPageToken;
  }
  for (let token = ""; ; ) {
    const body = await page(`${root}/parents/-/results/-/records?page_size=${size}${token ? `&page_token=${encodeURIComponent(token)}` : ""}`, opts);
    const res = fromJson(ListRecordsResponseSchema, body as never, { ignoreUnknownFields: true });
    for (const record of res.records) yield { record };
    if (!res.nextPageToken) break;
    token = res.nextPageToken;
  }
}

/** Where upstream's REST GetLog serves the log of the Log record `recordName`. */
export function logUrl(url: string, recordName: string): string {
  const m = /^([^/]+)\/results\/([^/]+)\/records\/([^/]+)$/.exec(recordName);
  if (!m) throw new LogReadError(`${recordName}: not a record name`);
  return `${apiRoot(url)}/parents/${encodeURIComponent(m[1]!)}/results/${encodeURIComponent(m[2]!)}/logs/${encodeURIComponent(m[3]!)}`;
}

/**
 * The bytes of a Log record's log, as the server streams them (never whole
 * in memory); null when the server has none (404: upstream answers
 * NOT_FOUND "Log doesn't exist" for a log not stored). Any other answer is
 * a LogReadError; a server that cannot be reached, a SourceError.
 */
export async function readLog(url: string, recordName: string, opts: SourceOptions = {}): Promise<AsyncIterable<Uint8Array> | null> {
  const u = logUrl(url, recordName);
  let r: Response;
  try {
    r = await fetch(u, { headers: headers(opts, "text/plain, */*") });
  } catch (e) {
    throw new SourceError(`GET ${u}: ${(e as Error).message}`);
  }
  if (r.status === 404) {
    await r.body?.cancel();
    return null;
  }
  if (r.status !== 200) throw new LogReadError(`GET ${u}: HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`);
  const body = r.body;
  if (!body) return (async function* () {})();
  const raw = (async function* () {
    try {
      for await (const chunk of body) yield chunk;
    } catch (e) {
      throw new LogReadError(`GET ${u}: the log stream broke: ${(e as Error).message}`);
    }
  })();
  // Upstream's gateway answers application/json and ends every message with "\n" (spec §2.6); Hindsight answers text/plain, verbatim.
  return (r.headers.get("content-type") ?? "").startsWith("application/json") ? unframe(raw, UPSTREAM_LOG_MESSAGE_BYTES, u) : raw;
}

/** Upstream's LOGS_BUFFER_SIZE default: the bytes of each GetLog message. */
export const UPSTREAM_LOG_MESSAGE_BYTES = 32768;

/**
 * The log inside upstream's REST GetLog answer: each message's bytes
 * (`size`, the last one shorter) followed by a "\n" the gateway adds. A
 * byte other than "\n" where one is due (another buffer size, or an error
 * object appended mid-stream) fails the log rather than storing it wrong.
 */
export async function* unframe(input: AsyncIterable<Uint8Array>, size: number, what: string): AsyncGenerator<Uint8Array> {
  let left = size; // data bytes before the next delimiter
  // The last byte read, held back: at the end it is the last message's delimiter, not data.
  let held: number | null = null;
  for await (const chunk of input) {
    let i = 0;
    while (i < chunk.byteLength) {
      if (left === 0) {
        if (chunk[i] !== 10) throw new LogReadError(`GET ${what}: the answer is not framed as upstream's messages of ${size} bytes`);
        if (held !== null) yield Uint8Array.of(held);
        held = null;
        i++;
        left = size;
        continue;
      }
      const n = Math.min(left, chunk.byteLength - i);
      if (held !== null) yield Uint8Array.of(held);
      if (n > 1) yield chunk.subarray(i, i + n - 1);
      held = chunk[i + n - 1]!;
      i += n;
      left -= n;
    }
  }
  // A last message shorter than `size` ends with its delimiter (held); a full one had it consumed above.
  if (held !== null && left !== 0 && held !== 10) throw new LogReadError(`GET ${what}: the answer ends without its message delimiter`);
  if (held !== null && left === 0) yield Uint8Array.of(held);
}
