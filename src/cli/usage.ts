import { settingsHelp } from "../config/config.ts";
import { VERSION } from "../version.ts";

export const USAGE = () => `hindsight ${VERSION}: Tekton Results in one binary

Usage:
  hindsight serve [flags]         serve the Results API (gRPC and REST) from one SQLite file,
                                  and watch clusters (--kubeconfig, --context, --watch-config)
  hindsight status [--streams] [--json]
                                  each watched cluster's state, read from the database;
                                  exits 1 when a cluster is not connected
  hindsight backup PATH           a consistent copy of the database, taken while it serves
  hindsight restore PATH          replace the database with a backup (the service must be stopped)
  hindsight prune [--dry-run]     apply the retention policy now; --dry-run lists what would go
  hindsight export [--output F] [--no-logs]
                                  results, records and logs as NDJSON (stdout by default)
  hindsight import [--input F]    NDJSON from export (stdin by default); idempotent
  hindsight import --from-results-api URL [--token T] [--with-logs]
                                  copy every result and record (and log) from an upstream Tekton Results REST API
  hindsight ready [--timeout 30s] wait until GET /readyz on the configured REST address answers 200
  hindsight token create|list|revoke
                                  API tokens for --auth-mode token; 'hindsight token --help'
  hindsight config check          validate the configuration (file, environment) and exit
  hindsight config example        print a commented config file with every key and its default
  hindsight version               version, commit and schema version (and the database's with --db)
  hindsight --help | --version

Every command takes --config PATH (default /etc/hindsight/config.yaml when it
exists, or HINDSIGHT_CONFIG) and --db PATH. Precedence: flags, then
environment, then the config file, then defaults.

Flags of serve (each also an environment variable and a config file key):
${settingsHelp()}

REST serves upstream's JSON routes under /apis/results.tekton.dev/v1alpha2/,
GET /healthz, GET /readyz, GET /metrics, the OpenAPI document at GET /openapi.json
and a page at GET /docs.

Signals: SIGTERM or SIGINT stop accepting calls, finish those in flight,
close the database cleanly and exit 0. SIGHUP re-reads the configuration
and applies what can change while running (log level and format, retention),
and re-reads the TLS files (they are also checked every second).
`;
