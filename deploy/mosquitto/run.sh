#!/bin/sh
# The compose broker: Mosquitto with Zenith's configuration, reloaded (SIGHUP) whenever
# Zenith rewrites its password or ACL file in the shared auth volume. The bridge
# containers write those files but cannot signal a process in another container, so the
# broker's side watches them (every 2 s; the bridge rewrites them within MQTT_AUTH_SYNC_S
# of a token change).
set -eu
conf=${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}
auth=${MOSQUITTO_AUTH_DIR:-/mosquitto/auth}
writer_uid=${ZENITH_UID:-10001}  # the Zenith image's user (deploy/Dockerfile)

# Zenith (another uid) replaces the files by rename: it needs the directory. Until it has
# written them, nobody can log in (an empty password file).
mkdir -p "$auth"
chown "$writer_uid" "$auth"
chmod 755 "$auth"
for name in passwd acl; do
  [ -e "$auth/$name" ] || printf '# waiting for Zenith (manage.py ingest_mqtt) to write this file\n' > "$auth/$name"
done

mosquitto -c "$conf" &
broker=$!
trap 'kill -TERM "$broker" 2>/dev/null' TERM INT

seen=$(cat "$auth/passwd" "$auth/acl" 2>/dev/null | cksum)
while kill -0 "$broker" 2>/dev/null; do
  sleep 2 &
  wait $! || true
  now=$(cat "$auth/passwd" "$auth/acl" 2>/dev/null | cksum)
  if [ "$now" != "$seen" ]; then
    seen=$now
    kill -HUP "$broker" 2>/dev/null || true
  fi
done
wait "$broker"
