/**
 * SQLite errors -> domain errors. Constraint failures are the client's doing
 * and say so; everything else is internal and keeps the SQLite text only as
 * the cause, for the server log.
 */
import { AppError, toAppError } from "../core/errors.ts";

export function mapSqliteError(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code ?? "";
  const msg = err instanceof Error ? err.message : "";
  let e: AppError;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    e = new AppError("already_exists", `${what} already exists`);
  } else if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
    e = new AppError("failed_precondition", `${what}: its parent result was deleted concurrently`);
  } else if (/malformed JSON|JSON nested too deep/i.test(msg)) {
    e = new AppError("invalid_argument", `${what}: data.value is not a JSON document this store accepts (${msg})`);
  } else if (code === "SQLITE_FULL") {
    e = new AppError("resource_exhausted", "database or disk is full");
  } else if (code === "SQLITE_TOOBIG") {
    e = new AppError("invalid_argument", `${what} is too large to store`);
  } else {
    return toAppError(err);
  }
  e.cause = err;
  return e;
}
