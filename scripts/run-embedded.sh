#!/usr/bin/env bash
# Zenith on the embedded defaults: no external servers. SQLite, in-memory channel
# layer, Celery on the filesystem transport; one ASGI server and one worker (+beat).
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
VAR="${ZENITH_VAR_DIR:-var}"
mkdir -p "$VAR/log"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
$PY -m celery -A ops worker -B --pool=solo --concurrency=1 --loglevel=INFO \
    --schedule="$VAR/celerybeat-schedule" >"$VAR/log/worker.log" 2>&1 &
PIDS+=($!)
$PY -m uvicorn ops.asgi:application --host "$HOST" --port "$PORT" --log-level warning &
PIDS+=($!)
cat <<MSG

  Zenith is running (embedded mode).
  Console:  http://${HOST}:${PORT}/
  API docs: http://${HOST}:${PORT}/api/docs/
  Login:    operator / zenith-demo
  Worker log: $VAR/log/worker.log   Stop with Ctrl-C.

MSG
# Stop everything as soon as either process exits.
wait -n "${PIDS[@]}"
