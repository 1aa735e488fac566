#!/usr/bin/env bash
# Start a PostgreSQL streaming standby of the local primary (127.0.0.1:5432) on port 5433,
# for the read-replica tests and for trying DATABASE_REPLICA_URL by hand:
#   bash scripts/replica.sh            # start (idempotent)
#   bash scripts/replica.sh stop
# The standby is made with pg_basebackup -R (it writes standby.signal and primary_conninfo),
# so it follows the primary by streaming replication, like a managed read replica.
set -euo pipefail
PORT="${REPLICA_PORT:-5433}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
VERSION="$(ls /etc/postgresql | head -n1)"
BIN="/usr/lib/postgresql/${VERSION}/bin"
DIR="${REPLICA_DIR:-/var/lib/postgresql/ipm-replica}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-start}" = stop ]; then
  as_pg "$BIN/pg_ctl" -D "$DIR" -m fast stop || true
  exit 0
fi
if pg_isready -h 127.0.0.1 -p "$PORT" -q; then
  echo "replica: already answering on $PORT"; exit 0
fi
HBA="/etc/postgresql/${VERSION}/main/pg_hba.conf"
if ! grep -Eq '^host\s+replication\s+all\s+127\.0\.0\.1/32' "$HBA"; then
  echo "host replication all 127.0.0.1/32 trust" >> "$HBA"
  as_pg psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -qAtc "SELECT pg_reload_conf()" >/dev/null
fi
rm -rf "$DIR"
mkdir -p "$DIR"
chown postgres:postgres "$DIR" 2>/dev/null || true
chmod 700 "$DIR"
as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR" -R -X stream -c fast
# Debian keeps the primary's configuration outside its data directory, so the copy has none:
# give the standby a small one of its own (pg_basebackup -R wrote primary_conninfo into
# postgresql.auto.conf beside it).
cat > "$DIR/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hot_standby = on
hba_file = '$HBA'
ident_file = '/etc/postgresql/${VERSION}/main/pg_ident.conf'
max_connections = 100
shared_buffers = 128MB
CONF
chown postgres:postgres "$DIR/postgresql.conf" 2>/dev/null || true
as_pg "$BIN/pg_ctl" -D "$DIR" -w -l "$DIR/replica.log" start
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$PORT" -q && break; sleep 1; done
echo "replica: streaming standby of :$PRIMARY_PORT on :$PORT ($DIR)"
