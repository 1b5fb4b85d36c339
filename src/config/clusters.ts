/**
 * The clusters to watch, from every source: --kubeconfig/--context, the
 * config file's `clusters` and `clusterDefaults`, and a separate watch
 * config file (--watch-config). Both files use one format and one parser
 * (src/watch/config.ts), so a cluster entry can move between them as is.
 *
 * The contexts given as flags take their options from the config file's
 * `clusterDefaults` when it has clusters or defaults, else from the watch
 * file's `defaults`, as before there was a config file.
 */
import type { ClusterSpec } from "../watch/config.ts";
import { ConfigError, watchesClusters, type Config } from "./config.ts";

export async function resolveAllClusters(cfg: Config): Promise<ClusterSpec[]> {
  if (!watchesClusters(cfg)) return [];
  const { readWatchFile, resolveClusters, WatchConfigError } = await import("./../watch/config.ts");
  try {
    const watchFile = cfg.watchConfig ? readWatchFile(cfg.watchConfig) : null;
    const inConfig = cfg.clusters.length > 0 || cfg.clusterDefaults !== null;
    if (!inConfig) return resolveClusters({ kubeconfig: cfg.kubeconfig, contexts: cfg.contexts, file: watchFile });
    const configDoc = { path: cfg.configFile ?? "config file", doc: { clusters: cfg.clusters, defaults: cfg.clusterDefaults ?? undefined } };
    const first = relabel(() => resolveClusters({ kubeconfig: cfg.kubeconfig, contexts: cfg.contexts, file: configDoc }), cfg.configFile);
    if (!watchFile) return first;
    // The watch file's clusters only: the flag clusters are already in `first`.
    const flagCount = resolveClusters({ kubeconfig: cfg.kubeconfig, contexts: cfg.contexts, file: null }).length;
    return [...first, ...resolveClusters({ kubeconfig: cfg.kubeconfig, contexts: cfg.contexts, file: watchFile }).slice(flagCount)];
  } catch (e) {
    if (e instanceof WatchConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

/** The watch parser says "watch config F: defaults..."; in the config file that key is clusterDefaults. */
function relabel<T>(f: () => T, file: string | null): T {
  try {
    return f();
  } catch (e) {
    const m = (e as Error).message;
    if (!m.startsWith("watch config ")) throw e;
    const fixed = m.replace(/^watch config /, "config file ").replace(/: defaults([.:])/, ": clusterDefaults$1");
    throw new ConfigError(file ? fixed : m);
  }
}
