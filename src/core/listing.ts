/**
 * The rules every list shares (upstream's "generic lister"): page size
 * defaults and bounds, the order_by grammar, and how a page token must agree
 * with the request it is used in.
 */
import { invalidArgument } from "./errors.ts";
import { decodePageToken, type PageTokenState } from "./page-token.ts";
import type { Order, OrderField } from "./types.ts";

export const DEFAULT_PAGE_SIZE = 50;
export const MIN_PAGE_SIZE = 5;
export const MAX_PAGE_SIZE = 10000;

export function pageSize(n: number): number {
  if (n === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(n) || n < MIN_PAGE_SIZE || n > MAX_PAGE_SIZE) {
    throw invalidArgument(
      `page_size: invalid page size (${n}): value must be between ${MIN_PAGE_SIZE} and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`,
    );
  }
  return n;
}

const orderRe = /^([\w.]+)\s*(ASC|asc|DESC|desc)?$/;

/** Parses "<field> [asc|desc]" against the fields this list allows. */
export function parseOrderBy(orderBy: string, allowed: readonly OrderField[]): Order | null {
  const s = orderBy.trim();
  if (s === "") return null;
  const fields = [...allowed].sort().join("|");
  const explain = `the value must obey the format <${fields}> [asc|desc]`;
  const m = orderRe.exec(s);
  if (!m) throw invalidArgument(`order_by: invalid order by statement:\n${explain}`);
  const field = m[1]! as OrderField;
  if (!allowed.includes(field)) {
    throw invalidArgument(`order_by: ${m[1]}: field is unknown or cannot be used in the order by clause\n${explain}`);
  }
  return { field, desc: m[2]?.toLowerCase() === "desc" };
}

export interface ListRequest {
  kind: PageTokenState["kind"];
  parent: string;
  filter: string;
  order: Order | null;
  pageToken: string;
}

/** Checks a page token against its request; returns the keyset position, or null for page one. */
export function resumePosition(key: Uint8Array, req: ListRequest): PageTokenState["last"] | null {
  if (req.pageToken === "") return null;
  const t = decodePageToken(key, req.pageToken);
  if (t.kind !== req.kind) throw invalidArgument(`invalid page token: it was issued for a list of ${t.kind}`);
  if (t.parent !== req.parent) {
    throw invalidArgument(
      `invalid page token: provided parent (${req.parent}) differs from the parent used in the previous query (${t.parent})`,
    );
  }
  if (t.filter !== req.filter) {
    throw invalidArgument("invalid page token: the provided filter differs from the filter used in the previous query");
  }
  const same =
    (t.order === null && req.order === null) ||
    (t.order !== null && req.order !== null && t.order.field === req.order.field && t.order.desc === req.order.desc);
  if (!same) {
    throw invalidArgument("invalid page token: the provided order_by differs from the order_by used in the previous query");
  }
  return t.last;
}
