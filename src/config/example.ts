/**
 * `hindsight config example`: a commented config file with every key at
 * its default. Keys whose default is "not set" are shown commented out.
 * Its test checks that it parses to exactly the defaults and mentions every
 * key of the schema, so it cannot fall behind the code.
 */
export const EXAMPLE_CONFIG = `# Hindsight configuration (/etc/hindsight/config.yaml, or --config PATH).
# Precedence: flags > environment (HINDSIGHT_*) > this file > defaults.
# Every key is optional; the values below are the defaults.
# Check a file with: hindsight config check --config PATH

# The SQLite database file; its directory is created. (--db, HINDSIGHT_DB)
# scripts/install.sh sets /var/lib/hindsight/hindsight.db (the service writes only there).
db: ./data/hindsight.db

# Reader threads for lists and summaries, 1-64. (--readers)
readers: 3
# A list or summary running longer is stopped with DEADLINE_EXCEEDED. (--query-timeout)
queryTimeout: 60s

grpc:
  # gRPC listener HOST:PORT; 0.0.0.0:50051 to listen on every interface. (--grpc-listen)
  listen: 127.0.0.1:50051
  # Largest request accepted; larger ones get RESOURCE_EXHAUSTED. (--grpc-max-receive-size)
  maxReceiveSize: 32MiB
  # A connection with no call in flight this long is closed; clients reconnect on their own. (--grpc-idle-timeout)
  idleTimeout: 2m
  # A unary request must arrive whole within this; a stream left half-sent is reset. (--grpc-read-timeout)
  readTimeout: 30s

http:
  # REST (JSON over HTTP/1.1) listener, also /healthz, /readyz, /metrics. (--http-listen)
  listen: 127.0.0.1:8080
  # Largest REST request body; larger ones get HTTP 413. (--http-max-body-size)
  maxBodySize: 32MiB
  # A request body must arrive whole within this; an idle keep-alive
  # connection is closed after it. Whole seconds, 1s-255s. (--http-idle-timeout)
  idleTimeout: 10s

log:
  # debug, info, warn or error. (--log-level, HINDSIGHT_LOG_LEVEL)
  level: info
  # json or logfmt, one line per event on stderr (journald). (--log-format)
  format: json

# Clusters to watch. Nothing is watched by default.
# kubeconfig: /etc/hindsight/kubeconfig   # its current context, or each of contexts (--kubeconfig)
contexts: []                              # kubeconfig contexts to watch (--context, repeatable)
# watchConfig: /etc/hindsight/watch.yaml  # a separate watch config file (--watch-config)
# Clusters with their own settings, in the watch config file's format
# (see README, "Watch config file"):
clusters: []
#  - name: prod
#    kubeconfig: /etc/hindsight/prod.kubeconfig
#    context: prod
#    namespaces: [ci]
# Settings applied to every cluster (a watch config file's "defaults"):
clusterDefaults: {}
#  parent: "{cluster}-{namespace}"

# Memory for records already encoded, which ListRecords answers from; 0 turns it off. (--record-cache-size)
recordCacheSize: 6MiB
# Where the Tekton Dashboard's external-logs route is served on the REST port;
# empty turns it off. (--dashboard-logs-prefix)
dashboardLogsPrefix: /logs

retention:
  # Runs matching no rule are deleted this long after they complete
  # (e.g. 90d, 12h; a bare number is days). forever keeps them. (--retention-max-age)
  maxAge: forever
  # How often the server applies the policy. (--retention-interval)
  interval: 1h
  # The first rule that matches a run decides its age. A rule matches when
  # every criterion it gives matches; a list matches any of its values.
  rules: []
#    - name: pull-requests
#      namespaces: [ci]                   # the Result's parent
#      pipelines: [pr-check]              # the tekton.dev/pipeline label
#      statuses: [success]                # success, failure, timeout, cancelled, unknown
#      filter: 'annotations["repo"] == "acme/app"'   # CEL over Results, as ListResults
#      maxAge: 7d

backup:
  # Directory of automatic backups; default: backups/ beside the database.
  # dir: /var/lib/hindsight/backups    # (--backup-dir)
  # Copy the database before a newer Hindsight migrates its schema. (--backup-before-migration)
  beforeMigration: true

auth:
  # Who may call: token (hindsight token create), kubernetes (Kubernetes
  # bearer tokens and RBAC, by TokenReview and SubjectAccessReview), or none
  # (only when both listeners are on loopback). Default: none on loopback,
  # token otherwise. (--auth-mode)
  # mode: token
  # Mode kubernetes: the API server to ask, and as whom. Default: the
  # kubeconfig key above, else $KUBECONFIG or ~/.kube/config (or the
  # in-cluster service account). (--auth-kubeconfig)
  # kubeconfig: /etc/hindsight/auth.kubeconfig
  # Its context; default: the current one. (--auth-context)
  # context: prod
  # How long allowed answers are kept; refusals at most 2s; 0 keeps none. (--auth-cache-ttl)
  cacheTtl: 10s
  # Honour Impersonate-User, -Group, -Uid and -Extra-* headers. (--auth-impersonation)
  impersonation: false
  # Calls one client address may have in flight, gRPC and REST together;
  # past it RESOURCE_EXHAUSTED / HTTP 429. 0: no cap. (--max-calls-per-client)
  maxCallsPerClient: 256

tls:
  # PEM certificate chain and key for both listeners; re-read when they
  # change and on SIGHUP. Default: plaintext. (--tls-cert, --tls-key)
  # cert: /etc/hindsight/tls.crt
  # key: /etc/hindsight/tls.key
  # Require client certificates issued by this CA. (--tls-client-ca)
  # clientCa: /etc/hindsight/clients-ca.crt
`;
