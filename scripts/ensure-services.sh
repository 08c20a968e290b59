#!/usr/bin/env bash
# Make sure the services the tests use are up: PostgreSQL 15 with TimescaleDB, and Redis.
# Starts what is stopped, builds TimescaleDB once; quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "[services] installing PostgreSQL 15"
  apt-get -qq update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -y -qq install postgresql-15 >/dev/null
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "[services] installing Redis"
  apt-get -qq update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -y -qq install redis-server >/dev/null
fi

# The tests connect over TCP as postgres without a password (trust), as on the CI machines.
# A freshly installed Debian cluster asks for one (scram-sha-256): trust loopback instead.
if ! PGCONNECT_TIMEOUT=3 psql -w -h 127.0.0.1 -U postgres -Atqc 'select 1' >/dev/null 2>&1; then
  if pg_isready -h 127.0.0.1 -q 2>/dev/null || pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null; then
    hba="$(ls -d /etc/postgresql/15/*/ | head -n1)pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q "zenith-test-trust" "$hba"; then
      echo "[services] trusting loopback connections in $hba (test machine)"
      printf '%s\n%s\n%s\n' "# zenith-test-trust" \
        "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust" | cat - "$hba" > "$hba.new"
      mv "$hba.new" "$hba" && chown postgres:postgres "$hba"
      pg_ctlcluster --skip-systemctl-redirect 15 "$(basename "$(dirname "$hba")")" reload || true
    fi
  fi
fi

bash scripts/ensure-timescaledb.sh

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "[services] starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null

if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  if ! command -v mosquitto >/dev/null 2>&1; then
    echo "[services] installing Mosquitto"
    apt-get -qq update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -y -qq install mosquitto >/dev/null
  fi
  echo "[services] starting Mosquitto"
  # Its pid and log folders vanish with /run on a fresh boot or container.
  install -d -o mosquitto -g mosquitto /run/mosquitto /var/log/mosquitto 2>/dev/null \
    || mkdir -p /run/mosquitto /var/log/mosquitto
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 0.5; done
fi

DB="${ZENITH_TEST_DB:-zenith}"
if ! psql -h 127.0.0.1 -U postgres -Atqc "select 1 from pg_database where datname='$DB'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -qc "create database $DB" >/dev/null
fi
echo "[services] PostgreSQL (TimescaleDB), Redis and Mosquitto are up"
