#!/usr/bin/env bash
# Installs Hindsight as a systemd service: the binary, the unit and a
# commented config file, then enables and starts the service.
#
#   sudo scripts/install.sh [BINARY]      # BINARY defaults to dist/hindsight (bun run build)
#
# Settings (environment):
#   BINDIR   where the binary goes          (default /usr/local/bin)
#   UNITDIR  where the unit goes            (default /etc/systemd/system)
#   CONFDIR  where config.yaml goes         (default /etc/hindsight)
#   ENABLE   1: daemon-reload, enable --now (default 1; skipped when systemd is not running)
#
# An existing config.yaml is never overwritten: the example is written beside
# it as config.yaml.example. Run again to upgrade the binary; the service
# backs its database up before a schema migration.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-dist/hindsight}
BINDIR=${BINDIR:-/usr/local/bin}
UNITDIR=${UNITDIR:-/etc/systemd/system}
CONFDIR=${CONFDIR:-/etc/hindsight}
ENABLE=${ENABLE:-1}

if [ ! -x "$BIN" ]; then
  echo "install: no executable at $BIN; run 'bun run build' first or pass the binary's path" >&2
  exit 2
fi
"$BIN" --version >/dev/null || { echo "install: $BIN does not run on this machine" >&2; exit 2; }

install -d -m 0755 "$BINDIR" "$UNITDIR" "$CONFDIR"
# Into place by rename, so a running service's binary is never half-written.
install -m 0755 "$BIN" "$BINDIR/.hindsight.new"
mv -f "$BINDIR/.hindsight.new" "$BINDIR/hindsight"

sed "s|/usr/local/bin/hindsight|$BINDIR/hindsight|g" systemd/hindsight.service >"$UNITDIR/hindsight.service"
chmod 0644 "$UNITDIR/hindsight.service"

if [ -e "$CONFDIR/config.yaml" ]; then
  "$BINDIR/hindsight" config example >"$CONFDIR/config.yaml.example"
  echo "kept $CONFDIR/config.yaml; the current example is $CONFDIR/config.yaml.example"
  "$BINDIR/hindsight" config check --config "$CONFDIR/config.yaml"
else
  # The service may write only under its state directory.
  "$BINDIR/hindsight" config example | sed 's|^db: ./data/hindsight.db$|db: /var/lib/hindsight/hindsight.db|' >"$CONFDIR/config.yaml"
  chmod 0644 "$CONFDIR/config.yaml"
  echo "wrote $CONFDIR/config.yaml (every key at its default)"
fi
echo "installed $BINDIR/hindsight ($("$BINDIR/hindsight" --version)) and $UNITDIR/hindsight.service"

if [ "$ENABLE" = 1 ]; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    systemctl enable hindsight.service
    systemctl restart hindsight.service
    systemctl --no-pager status hindsight.service | head -n 5 || true
  else
    echo "systemd is not running here: enable later with 'systemctl daemon-reload && systemctl enable --now hindsight'"
  fi
fi
