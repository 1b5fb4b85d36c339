/**
 * Time and identity are injected, so tests can pin both. Times are Unix
 * microseconds: the store keeps microseconds, and truncating "now" before use
 * makes write responses and later reads agree (upstream answers nanoseconds on
 * write and microseconds on read; see docs/compatibility.md).
 */

export interface Clock {
  /** Current time as integer Unix microseconds. */
  nowMicros(): number;
}

export const systemClock: Clock = {
  nowMicros: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
};

export interface IdGenerator {
  /** A new lowercase hyphenated UUID. */
  newId(): string;
}

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter and 62
 * random bits. The counter makes ids strictly increasing within one process
 * even when the clock stalls or steps back, so the default list order (by
 * uid) is creation order.
 */
export function uuidv7Generator(
  clock: Clock = systemClock,
  random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b),
): IdGenerator {
  let lastMs = 0;
  let counter = 0;
  const b = new Uint8Array(16);
  return {
    newId() {
      let ms = Math.floor(clock.nowMicros() / 1000);
      if (ms > lastMs) {
        lastMs = ms;
        random(b);
        counter = ((b[6]! & 0x0f) << 8) | b[7]!;
        counter &= 0x7ff; // leave headroom for increments within the millisecond
      } else {
        ms = lastMs;
        counter++;
        if (counter > 0xfff) {
          lastMs = ms = lastMs + 1;
          counter = 0;
        }
        random(b);
      }
      b[0] = Math.floor(ms / 2 ** 40) & 0xff;
      b[1] = Math.floor(ms / 2 ** 32) & 0xff;
      b[2] = (ms >>> 24) & 0xff;
      b[3] = (ms >>> 16) & 0xff;
      b[4] = (ms >>> 8) & 0xff;
      b[5] = ms & 0xff;
      b[6] = 0x70 | ((counter >>> 8) & 0x0f);
      b[7] = counter & 0xff;
      b[8] = 0x80 | (b[8]! & 0x3f);
      let s = "";
      for (let i = 0; i < 16; i++) {
        s += hex[b[i]!];
        if (i === 3 || i === 5 || i === 7 || i === 9) s += "-";
      }
      return s;
    },
  };
}
