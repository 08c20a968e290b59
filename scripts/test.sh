#!/usr/bin/env bash
# The whole test suite against real services: lint, types, layering, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap-venv.sh dev
bash scripts/ensure-services.sh

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/zenith}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export SECRET_KEY="${SECRET_KEY:-zenith-test-secret-key-not-for-production-0123456789}"
export ZENITH_REQUIRE_TIMESCALEDB="${ZENITH_REQUIRE_TIMESCALEDB:-1}"
# Live events of this run only (Redis pub/sub is shared by every run on the machine).
export CHANNEL_LAYER_PREFIX="${CHANNEL_LAYER_PREFIX:-zenith-test-$$}"
BIN=.venv/bin

echo "== ruff";          $BIN/ruff check . && $BIN/ruff format --check .
echo "== mypy";          $BIN/mypy zenith ops orbital telemetry scheduling
echo "== import-linter"; $BIN/lint-imports
if docker compose version >/dev/null 2>&1; then
  echo "== compose";     docker compose -f deploy/compose.yaml config -q
fi
echo "== pytest";        $BIN/pytest "$@"
