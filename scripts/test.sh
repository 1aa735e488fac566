#!/usr/bin/env bash
# Runs the whole suite. Database: $DATABASE_URL when set; otherwise PostgreSQL at
# 127.0.0.1:5432 when one answers; otherwise SQLite (PostgreSQL-only tests are then skipped,
# and listed at the end). Under CI=true nothing is skipped: a missing service fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ -z "${DATABASE_URL:-}" ]; then
  if $PY - <<'PYEOF' 2>/dev/null; then
import psycopg
psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=2).close()
PYEOF
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/ipm"
    echo "make test: using PostgreSQL at 127.0.0.1:5432"
  else
    echo "make test: no PostgreSQL answered at 127.0.0.1:5432; using SQLite"
  fi
fi
if [ -z "${IPM_TEST_REDIS_URL:-}" ]; then
  if $PY -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_connect_timeout=1).ping()" 2>/dev/null; then
    export IPM_TEST_REDIS_URL="redis://127.0.0.1:6379/15"
  fi
fi
echo "== ruff check"
.venv/bin/ruff check .

echo "== import layers (docs/architecture.md)"
.venv/bin/lint-imports

bash scripts/supply_chain.sh
echo "== pytest"
exec $PY -m pytest "$@"
