#!/usr/bin/env bash
# Build and enable TimescaleDB for the local PostgreSQL cluster; every step is skipped when
# already done. Debian bookworm does not package TimescaleDB. Preferred: the full source
# release beside the checkout (../shared/vendor/timescaledb-<version>.tar.gz, Apache and
# Timescale License parts, the version deploy/compose.yaml runs), built with the Timescale
# License parts so compression and continuous aggregates are there as in production.
# Fallback: Debian trixie's source package, which is Apache-only (hypertables, time_bucket,
# drop_chunks). TSDB_SOURCE=/path/to/tarball names the release explicitly;
# TSDB_LICENSE=apache forces the Apache-only build.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
TSDB_VERSION="${TSDB_VERSION:-2.19.3}"
WORK="${TSDB_WORK:-/var/tmp/zenith-timescaledb}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PGHOST_ARGS=(-h 127.0.0.1 -U postgres -Atq)

log() { printf '[timescaledb] %s\n' "$*"; }

cluster_conf() { ls -d /etc/postgresql/"${PG_MAJOR}"/*/ | head -n1; }
cluster_name() { basename "$(cluster_conf)"; }

pg_running() { pg_isready -h 127.0.0.1 -q; }

start_pg() {
  if ! pg_running; then
    log "starting PostgreSQL ${PG_MAJOR}"
    pg_ctlcluster --skip-systemctl-redirect "${PG_MAJOR}" "$(cluster_name)" start || true
    for _ in $(seq 1 30); do pg_running && return 0; sleep 1; done
    log "PostgreSQL did not come up"; return 1
  fi
}

REPO="$(cd "$(dirname "$0")/.." && pwd)"
vendor_tarball() {
  local candidate
  for candidate in "${TSDB_SOURCE:-}" \
      "$REPO/../shared/vendor/timescaledb-${TSDB_VERSION}.tar.gz" \
      "/work/shared/vendor/timescaledb-${TSDB_VERSION}.tar.gz"; do
    [ -n "$candidate" ] && [ -f "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

pkglib() { "$PG_CONFIG" --pkglibdir; }
installed() { [ -f "$(pkglib)/timescaledb-${TSDB_VERSION}.so" ] 2>/dev/null; }
# The Timescale License parts live in their own module next to the extension.
tsl_installed() { [ -f "$(pkglib)/timescaledb-tsl-${TSDB_VERSION}.so" ] 2>/dev/null; }

build_deps() {
  apt-get -qq update >/dev/null || true  # system lists, for build deps
  DEBIAN_FRONTEND=noninteractive apt-get -y -qq install \
    "postgresql-server-dev-${PG_MAJOR}" cmake build-essential libssl-dev libkrb5-dev >/dev/null
}

stop_pg() { pg_ctlcluster --skip-systemctl-redirect "${PG_MAJOR}" "$(cluster_name)" stop || true; }

build_vendor() {
  local tarball="$1"
  log "building TimescaleDB ${TSDB_VERSION} (Apache + Timescale License) from $tarball"
  command -v cmake >/dev/null && [ -x "$PG_CONFIG" ] && [ -d "$("$PG_CONFIG" --includedir-server)" ] \
    || build_deps
  rm -rf "$WORK/vendor-src" && mkdir -p "$WORK/vendor-src"
  tar -xzf "$tarball" -C "$WORK/vendor-src" --strip-components=1
  (cd "$WORK/vendor-src" && ./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DAPACHE_ONLY=OFF \
      -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$PG_CONFIG" >/dev/null \
    && make -C build -j"$(nproc)" >/dev/null)
  # Install with the server stopped: running backends map the libraries being replaced.
  stop_pg
  make -C "$WORK/vendor-src/build" install >/dev/null
  log "built and installed (Timescale License)"
}

build() {
  log "building TimescaleDB ${TSDB_VERSION} from Debian trixie source"
  mkdir -p "$WORK/etc/sources.list.d" "$WORK/lists/partial" "$WORK/src"
  echo "deb-src ${MIRROR} trixie main" > "$WORK/etc/sources.list"
  local apt_opts=(-o "Dir::Etc::sourcelist=$WORK/etc/sources.list"
                  -o "Dir::Etc::sourceparts=$WORK/etc/sources.list.d"
                  -o "Dir::State::Lists=$WORK/lists"
                  -o "APT::Get::List-Cleanup=0")
  build_deps
  apt-get "${apt_opts[@]}" -qq update
  (cd "$WORK/src" && apt-get "${apt_opts[@]}" source --download-only "timescaledb=${TSDB_VERSION}*" \
     || apt-get "${apt_opts[@]}" source --download-only timescaledb)
  local tarball
  tarball="$(ls "$WORK"/src/timescaledb_*.orig.tar.* | head -n1)"
  rm -rf "$WORK/build-src" && mkdir -p "$WORK/build-src"
  tar -xf "$tarball" -C "$WORK/build-src" --strip-components=1
  (cd "$WORK/build-src" && ./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DAPACHE_ONLY=ON \
      -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$PG_CONFIG" >/dev/null \
    && make -C build -j"$(nproc)" install >/dev/null)
  log "built and installed"
}

enable() {
  local conf
  conf="$(cluster_conf)postgresql.conf"
  if grep -Eq "^\s*shared_preload_libraries\s*=.*timescaledb" "$conf"; then
    return 0
  fi
  log "enabling shared_preload_libraries in $conf"
  # Keep libraries already preloaded: the last active setting wins, so extend it.
  local current
  current="$(grep -E "^\s*shared_preload_libraries\s*=" "$conf" | tail -n1 \
             | sed -E "s/^[^=]*=\s*'([^']*)'.*/\1/" || true)"
  local wanted="timescaledb"
  [ -n "$current" ] && wanted="$current,timescaledb"
  printf "\n# added by zenith scripts/ensure-timescaledb.sh\nshared_preload_libraries = '%s'\ntimescaledb.telemetry_level = off\n" "$wanted" >> "$conf"
  pg_ctlcluster --skip-systemctl-redirect "${PG_MAJOR}" "$(cluster_name)" restart
  for _ in $(seq 1 30); do pg_running && return 0; sleep 1; done
  log "PostgreSQL did not come back"; return 1
}

start_pg
if [ "${TSDB_LICENSE:-timescale}" != "apache" ] && tarball="$(vendor_tarball)"; then
  # Full build wanted and possible: (re)build when the installed one lacks the TSL module.
  installed && tsl_installed || build_vendor "$tarball"
else
  installed || build
fi
enable
start_pg
preload="$(psql "${PGHOST_ARGS[@]}" -c 'show shared_preload_libraries')"
case "$preload" in
  *timescaledb*)
    license="apache only"; tsl_installed && license="Apache + Timescale License"
    log "ready ($(psql "${PGHOST_ARGS[@]}" -c "select default_version from pg_available_extensions where name='timescaledb'"), license: ${license})";;
  *) log "timescaledb is not preloaded: $preload"; exit 1;;
esac
