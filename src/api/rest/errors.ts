/**
 * REST error answers, as grpc-gateway writes them: the google.rpc.Status in
 * protobuf JSON (`{"code":5,"message":"..."}`, an empty message omitted, no
 * details), with the HTTP status of the one error table in src/core/errors.ts.
 * Anything that is not an AppError is `internal` with a generic message; its
 * detail goes to the log only.
 */
import { errorTable, httpStatusOf, toAppError, type AppError } from "../../core/errors.ts";
import { log } from "../../log.ts";

export const JSON_TYPE = "application/json";

export function errorBody(e: AppError): string {
  const code = errorTable[e.code].grpc;
  return JSON.stringify(e.message === "" ? { code } : { code, message: e.message });
}

export function errorResponse(err: unknown, where: string): Response {
  const e = toAppError(err);
  if (e.code === "internal") log.error("request failed", { route: where, error: e.cause ?? err });
  const headers: Record<string, string> = { "content-type": JSON_TYPE };
  // grpc-gateway sets WWW-Authenticate to the status message for UNAUTHENTICATED.
  if (e.code === "unauthenticated") headers["www-authenticate"] = e.message;
  // A body that was refused unread is not drained: close the connection after answering.
  if (e.httpStatus === 413) headers.connection = "close";
  return new Response(errorBody(e), { status: httpStatusOf(e), headers });
}
