/**
 * Etags are "<uid>-<update time in Unix nanoseconds>", upstream's formula.
 * Times are kept in microseconds, so the nanosecond figure always ends in
 * "000"; building it as a string avoids float overflow past 2^53.
 */
export function etagFor(uid: string, updateMicros: number): string {
  return `${uid}-${updateMicros}000`;
}
