#!/usr/bin/env bash
# Create .venv and install Zenith with the pinned versions in constraints.txt.
# Re-running is cheap: it reinstalls only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
EXTRAS="${1:-}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.zenith-installed${EXTRAS:+-$EXTRAS}"
digest="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
# An install with the dev extras also satisfies a plain install.
if [ -z "$EXTRAS" ] && [ -f .venv/.zenith-installed-dev ] && [ "$(cat .venv/.zenith-installed-dev)" = "$digest" ]; then
  exit 0
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "[setup] installing packages (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip wheel setuptools
  .venv/bin/python -m pip install -q -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}"
  echo "$digest" > "$stamp"
fi
