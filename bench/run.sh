#!/usr/bin/env bash
# make bench: scale data on PostgreSQL, the app under gunicorn (production settings), a
# bounded load run on 127.0.0.1, metric computation time, and reminder dispatch
# throughput with one Celery worker on Redis. Prints a table; writes var/bench/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipm_bench}
export CELERY_BROKER_URL=${BENCH_BROKER_URL:-redis://127.0.0.1:6379/14}
export DJANGO_SETTINGS_MODULE=ipm.settings.production
export SECRET_KEY=bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
export AUDIT_HMAC_KEY=bench-only-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz
export ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=false IPM_ADMIN_2FA_REQUIRED=false
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend SMS_BACKEND=reminders.sms.FileBackend
export SMS_FILE_PATH=var/bench/sms STATIC_ROOT=var/bench/static DATABASE_POOL=false
PATIENTS=${BENCH_PATIENTS:-100000}
PORT=${BENCH_PORT:-8765}
mkdir -p var/bench

dbname=${DATABASE_URL##*/}
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='$dbname'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres "$dbname"
$PY manage.py migrate --noinput -v0
$PY manage.py createcachetable
$PY manage.py collectstatic --noinput -v0
have=$(psql -h 127.0.0.1 -U postgres -d "$dbname" -tAc "SELECT count(*) FROM patients_patient")
if [ "$have" -lt "$PATIENTS" ]; then
  echo "== generating $PATIENTS patients (have $have)"
  $PY manage.py generate_scale_data --patients $((PATIENTS - have))
fi
$PY manage.py createstaff bench --role clinician --role coordinator --role admin \
  --password bench-pass-not-secret >/dev/null

echo "== gunicorn on 127.0.0.1:$PORT"
.venv/bin/gunicorn ipm.wsgi:application --bind 127.0.0.1:$PORT --workers 3 \
  --log-level warning --pid var/bench/gunicorn.pid >var/bench/gunicorn.log 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fsS -H 'X-Forwarded-Proto: https' http://127.0.0.1:$PORT/livez >/dev/null 2>&1 && break; sleep 0.2; done

ids=$(psql -h 127.0.0.1 -U postgres -d "$dbname" -tAc \
  "SELECT string_agg(id::text, ',') FROM (SELECT id FROM patients_patient ORDER BY random() LIMIT 200) s")
echo "== load (bounded, loopback)"
$PY bench/load.py --base http://127.0.0.1:$PORT --patient-ids "$ids" \
  --requests ${BENCH_REQUESTS:-300} --concurrency ${BENCH_CONCURRENCY:-$(nproc)} --out var/bench/http.json
kill $GUNICORN; trap - EXIT

echo "== metrics over the whole program; reminder dispatch and a whole-program \$export with one worker"
$PY bench/jobs.py --out var/bench/jobs.json
$PY bench/report.py var/bench/http.json var/bench/jobs.json --patients "$PATIENTS" \
  --out var/bench/latest.json
