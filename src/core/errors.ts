/**
 * Errors as data: one closed set of codes that every layer speaks, and one
 * table that maps each code to its gRPC status and HTTP status. Transports
 * never invent codes of their own; anything that is not an AppError becomes
 * `internal` with a generic message, so no stack trace or SQL text reaches a
 * client.
 */

export const ErrorCodes = [
  "cancelled",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "unimplemented",
  "internal",
  "unavailable",
  "unauthenticated",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/**
 * gRPC code and HTTP status per error code. The HTTP column is grpc-gateway's
 * mapping (FAILED_PRECONDITION is 400 there, not 412), which upstream clients see.
 */
export const errorTable: Record<ErrorCode, { grpc: number; http: number }> = {
  cancelled: { grpc: 1, http: 499 },
  invalid_argument: { grpc: 3, http: 400 },
  deadline_exceeded: { grpc: 4, http: 504 },
  not_found: { grpc: 5, http: 404 },
  already_exists: { grpc: 6, http: 409 },
  permission_denied: { grpc: 7, http: 403 },
  resource_exhausted: { grpc: 8, http: 429 },
  failed_precondition: { grpc: 9, http: 400 },
  aborted: { grpc: 10, http: 409 },
  unimplemented: { grpc: 12, http: 501 },
  internal: { grpc: 13, http: 500 },
  unavailable: { grpc: 14, http: 503 },
  unauthenticated: { grpc: 16, http: 401 },
};

/**
 * An error meant for the client: its message is safe to show. `httpStatus`
 * refines the table's HTTP status for failures that only HTTP can have and
 * that HTTP has a precise status for (413 for a body over the limit, 415 for
 * a content type that is not JSON); gRPC still sees `code`.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = "AppError";
  }
}

/** The HTTP status an error is answered with. */
export const httpStatusOf = (e: AppError): number => e.httpStatus ?? errorTable[e.code].http;

export const invalidArgument = (message: string) => new AppError("invalid_argument", message);
export const notFound = (message: string) => new AppError("not_found", message);
export const alreadyExists = (message: string) => new AppError("already_exists", message);
export const failedPrecondition = (message: string) => new AppError("failed_precondition", message);
export const unimplemented = (message: string) => new AppError("unimplemented", message);
export const resourceExhausted = (message: string, httpStatus?: number) => new AppError("resource_exhausted", message, httpStatus);

/**
 * Turns anything thrown into an AppError. Unknown errors keep their detail for
 * the server log (`cause`) but show the client only "internal error".
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = new AppError("internal", "internal error");
  e.cause = err;
  return e;
}
