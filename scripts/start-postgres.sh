#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster (127.0.0.1:5432, trust auth) when it is down, and
# waits until it accepts connections. Safe to run repeatedly: a running server is left alone.
set -u
HOST=127.0.0.1 PORT=5432
ready() { pg_isready -q -h "$HOST" -p "$PORT" -t 2; }
command -v pg_isready >/dev/null 2>&1 || { echo "pg_isready not found: PostgreSQL client not installed" >&2; exit 1; }
ready && exit 0
[ -d /etc/postgresql ] || { echo "/etc/postgresql missing: no PostgreSQL server installed" >&2; exit 1; }
version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "PostgreSQL $version did not accept connections on $HOST:$PORT within 30 s" >&2
exit 1
