/**
 * Regenerates src/gen from proto/ with buf and protoc-gen-es (both from
 * node_modules, so no system protoc is needed). The output is committed;
 * CI regenerates and fails if it differs from what is committed.
 */
import { $ } from "bun";
import { rmSync } from "node:fs";

rmSync(new URL("../src/gen", import.meta.url).pathname, { recursive: true, force: true });
await $`../node_modules/.bin/buf generate`.cwd(new URL("../proto", import.meta.url).pathname);
console.log("generated src/gen from proto/");
