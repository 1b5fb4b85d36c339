/**
 * The domain's resources, free of any transport or database shape. Times are
 * Unix microseconds; record data values are JSON text.
 */

export type Annotations = { [key: string]: string };

/** RecordSummary.Status numbers, as on the wire. */
export const SummaryStatus = { UNKNOWN: 0, SUCCESS: 1, FAILURE: 2, TIMEOUT: 3, CANCELLED: 4 } as const;

export interface RecordSummary {
  record: string;
  type: string;
  startTime: number | null;
  endTime: number | null;
  status: number;
  annotations: Annotations;
}

export interface ResultResource {
  parent: string;
  /** Last segment of the name ("<parent>/results/<name>"). */
  name: string;
  uid: string;
  createTime: number;
  updateTime: number;
  annotations: Annotations;
  etag: string;
  summary: RecordSummary | null;
}

export interface RecordData {
  type: string;
  /** The JSON document, as text. */
  value: string;
  /**
   * The same document as UTF-8 bytes, when it arrived as bytes (gRPC, REST):
   * stored and answered from these, so a 12 KB run is not decoded into a
   * string and encoded back on every write (see bytesData in validate.ts).
   */
  readonly raw?: Uint8Array;
}

export interface RecordResource {
  parent: string;
  resultName: string;
  /** Last segment of the name ("<parent>/results/<result>/records/<name>"). */
  name: string;
  uid: string;
  data: RecordData | null;
  createTime: number;
  updateTime: number;
  etag: string;
}

/** Fields a list may be ordered by, with their API spelling. */
export type OrderField =
  | "create_time"
  | "update_time"
  | "summary.start_time"
  | "summary.end_time"
  // Records, an extension: the run's own start and completion.
  | "data.status.startTime"
  | "data.status.completionTime";

export interface Order {
  field: OrderField;
  desc: boolean;
}
