import pkg from "../package.json" with { type: "json" };

declare const HINDSIGHT_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
/** Set by `bun run build` (--define); "dev" when run from source. */
export const COMMIT: string = typeof HINDSIGHT_COMMIT === "string" ? HINDSIGHT_COMMIT : "dev";
