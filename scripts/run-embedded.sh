#!/usr/bin/env bash
# Zenith on the embedded defaults: no external servers. SQLite, in-memory channel
# layer, Celery on the filesystem transport; one ASGI server, one worker (+beat) and
# one worker running contacts over the simulated radio.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${ZENITH_HOST:-127.0.0.1}"
PORT="${ZENITH_PORT:-8000}"
unset DATABASE_URL REDIS_URL
bash scripts/bootstrap-venv.sh
PY=.venv/bin/python
$PY manage.py migrate --no-input -v0
$PY manage.py collectstatic --no-input -v0
$PY manage.py seed_demo
$PY manage.py predict_passes --no-progress
$PY manage.py seed_demo_transfers --no-progress
$PY manage.py plan_contacts --freeze 0 --no-progress
VAR="${ZENITH_VAR_DIR:-var}"
mkdir -p "$VAR/log"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
$PY -m celery -A zenith worker -B --pool=solo --concurrency=1 --loglevel=INFO -n main@%h \
    --schedule="$VAR/celerybeat-schedule" >"$VAR/log/worker.log" 2>&1 &
PIDS+=($!)
# Contacts run from AOS to LOS on their own queue; threads, so contacts overlap.
$PY -m celery -A zenith worker -Q "${ZENITH_LINK_QUEUE:-links}" --pool=threads --concurrency=8 \
    --loglevel=INFO -n links@%h >"$VAR/log/links.log" 2>&1 &
PIDS+=($!)
$PY -m uvicorn zenith.asgi:application --host "$HOST" --port "$PORT" --log-level warning &
PIDS+=($!)
cat <<MSG

  Zenith is running (embedded mode).
  Console:  http://${HOST}:${PORT}/
  API docs: http://${HOST}:${PORT}/api/docs/
  Logins, one per role (each sees what that role sees):
    operator / zenith-demo    the fleet live; acts on transfers, stations and alerts
    oncall / zenith-demo      acknowledges, shelves and assigns alerts
    scheduler / zenith-demo   reads the plan and the queue; no console actions
    admin / zenith-demo       everything, including the registry and tokens
  Transfers: http://${HOST}:${PORT}/api/v1/transfers (demo workloads queued)
  Logs: $VAR/log/worker.log, $VAR/log/links.log   Stop with Ctrl-C.

MSG
# Stop everything as soon as either process exits.
wait -n "${PIDS[@]}"
