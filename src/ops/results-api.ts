/**
 * Reading every result and record from a Tekton Results REST API (upstream's
 * grpc-gateway routes, which Hindsight serves too): ListResults over
 * `parents/-`, then ListRecords over `parents/-/results/-`, page by page, so
 * a record is always imported after its result. A token (upstream sits
 * behind Kubernetes auth) is sent as a bearer token.
 */
import { fromJson } from "@bufbuild/protobuf";
import { ListRecordsResponseSchema, ListResultsResponseSchema } from "../gen/api_pb.ts";
import type { Item } from "./transfer.ts";

export class SourceError extends Error {}

export interface SourceOptions {
  token?: string;
  pageSize?: number;
}

async function page(url: string, opts: SourceOptions): Promise<unknown> {
  let r: Response;
  try {
    r = await fetch(url, { headers: { accept: "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) } });
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
