#!/usr/bin/env bash
# Starts a Celery worker with beat in the background and the Django web server in the
# foreground, both on the embedded default. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
mkdir -p var
.venv/bin/celery -A ipm worker --beat --loglevel=info --concurrency=1 \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler >var/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
echo "Celery worker + beat running (pid $WORKER, log var/worker.log)"
echo "IPM at http://$HOST:$PORT/  (Ctrl-C to stop)"
.venv/bin/python manage.py runserver "$HOST:$PORT"
