/**
 * Resource names of the Results API. The grammar is upstream's: segments of
 * `[a-z0-9_-]{1,63}`, fully anchored. "-" is a legal segment, which is what
 * lets list parents use "-" as a wildcard. Error messages quote upstream's
 * regex text because upstream clients and tests look for it.
 */
import { invalidArgument } from "./errors.ts";

const SEG = "[a-z0-9_-]{1,63}";
export const RESULT_NAME_PATTERN = `(^${SEG})/results/(${SEG}$)`;
export const RECORD_NAME_PATTERN = `(^${SEG})/results/(${SEG})/records/(${SEG}$)`;
export const LOG_NAME_PATTERN = `(^${SEG})/results/(${SEG})/logs/(${SEG}$)`;

const resultRe = new RegExp(RESULT_NAME_PATTERN);
const recordRe = new RegExp(RECORD_NAME_PATTERN);
const logRe = new RegExp(LOG_NAME_PATTERN);

export interface ResultName {
  parent: string;
  result: string;
}

export interface RecordName extends ResultName {
  record: string;
}

function describe(value: string): string {
  return value.length > 80 ? JSON.stringify(value.slice(0, 80)) + "…" : JSON.stringify(value);
}

/** Parses "<parent>/results/<result>"; `field` names the request field in errors. */
export function parseResultName(name: string, field = "name"): ResultName {
  const m = resultRe.exec(name);
  if (!m) throw invalidArgument(`${field} ${describe(name)}: name must match ${RESULT_NAME_PATTERN}`);
  return { parent: m[1]!, result: m[2]! };
}

/** Parses "<parent>/results/<result>/records/<record>". */
export function parseRecordName(name: string, field = "name"): RecordName {
  const m = recordRe.exec(name);
  if (!m) throw invalidArgument(`${field} ${describe(name)}: name must match ${RECORD_NAME_PATTERN}`);
  return { parent: m[1]!, result: m[2]!, record: m[3]! };
}

/** Parses "<parent>/results/<result>/logs/<record>" (the Logs API's names). */
export function parseLogName(name: string, field = "name"): RecordName {
  const m = logRe.exec(name);
  if (!m) throw invalidArgument(`${field} ${describe(name)}: name must match ${LOG_NAME_PATTERN}`);
  return { parent: m[1]!, result: m[2]!, record: m[3]! };
}

export function isRecordName(name: string): boolean {
  return recordRe.test(name);
}

export const formatResultName = (parent: string, result: string) => `${parent}/results/${result}`;
export const formatRecordName = (parent: string, result: string, record: string) =>
  `${parent}/results/${result}/records/${record}`;
export const formatLogName = (parent: string, result: string, record: string) =>
  `${parent}/results/${result}/logs/${record}`;
