/**
 * Log bytes over HTTP: `GET …/parents/{parent}/results/{result}/logs/{id}` (the
 * v1alpha2 GetLog binding) and the Tekton Dashboard's external-logs
 * contract, `GET <prefix>/<namespace>/<pod>/<container>`.
 *
 * Both stream `text/plain` straight from the stored chunks: no newline is
 * added between chunks (upstream's gateway adds one per 32 KiB and labels
 * the body application/json), and a chunk is read only when the client has
 * taken the previous one, so a slow reader holds one chunk, not the log.
 * Errors before the first byte are the API's JSON errors; a failure after it
 * can only cut the body short, which an HTTP client sees as an incomplete
 * chunked transfer rather than a complete log.
 */
import type { OpenLog } from "../../core/logs-service.ts";
import { relieveLogMemory } from "../log-memory.ts";
import { errorResponse } from "./errors.ts";

export const TEXT_TYPE = "text/plain; charset=utf-8";

/** A Response streaming `log`; the first chunk is read before answering, so a log deleted meanwhile is still a clean error. */
export async function logResponse(log: OpenLog, where: string): Promise<Response> {
  const it = log.stream();
  let first: IteratorResult<Uint8Array>;
  try {
    first = await it.next();
  } catch (e) {
    return errorResponse(e, where);
  }
  let pending: Uint8Array | null = first.done ? null : first.value;
  let ended = first.done === true;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        relieveLogMemory();
        if (pending) {
          ctl.enqueue(pending);
          pending = null;
          return;
        }
        if (ended) return ctl.close();
        const next = await it.next();
        if (next.done) {
          ended = true;
          ctl.close();
        } else ctl.enqueue(next.value);
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { "content-type": TEXT_TYPE, "x-content-type-options": "nosniff" } });
}
