/**
 * `hindsight config check` loads the configuration exactly as `serve` would
 * (file, environment, the same parsers), resolves the clusters and compiles
 * the retention filters, without opening the database or contacting a
 * cluster, so a change can be checked before a reload or restart.
 * `hindsight config example` prints the commented example file.
 */
import { resolveAllClusters } from "../config/clusters.ts";
import { formatAge } from "../config/age.ts";
import { EXAMPLE_CONFIG } from "../config/example.ts";
import { commandConfig, parseCommand } from "./args.ts";
import { UsageError } from "./errors.ts";
import { USAGE } from "./usage.ts";

export async function configCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "example") {
    parseCommand("config example", rest);
    process.stdout.write(EXAMPLE_CONFIG);
    return 0;
  }
  if (sub !== "check") {
    if (sub === "--help" || sub === "-h") {
      process.stdout.write(USAGE());
      return 0;
    }
    throw new UsageError(`hindsight config: expected check or example, got ${sub === undefined ? "nothing" : JSON.stringify(sub)}`);
  }
  const { values } = parseCommand("config check", rest);
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = commandConfig(values);
  const clusters = await resolveAllClusters(cfg);
  const { compilePolicy } = await import("../ops/retention.ts");
  compilePolicy(cfg);
  process.stdout.write(
    [
      `${cfg.configFile ? `config file ${cfg.configFile}` : "no config file (defaults and environment)"}: valid`,
      `db ${cfg.db}; gRPC ${cfg.grpcListen}; REST ${cfg.httpListen}; log ${cfg.logLevel} ${cfg.logFormat}`,
      `clusters: ${clusters.length === 0 ? "none" : clusters.map((c) => c.name || `(current context of ${c.kubeconfig ?? "the default kubeconfig"})`).join(", ")}`,
      `retention: ${cfg.retentionRules.length} rule(s), otherwise ${formatAge(cfg.retentionMaxAgeMs)}, every ${formatAge(cfg.retentionIntervalMs)}`,
    ].join("\n") + "\n",
  );
  return 0;
}
