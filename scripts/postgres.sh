#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: Debian's `postgresql` package
# (installed if missing), a cluster of its own in /dev/shm/kiosk-pg (or
# /tmp/kiosk-pg when /dev/shm is small, or $KIOSK_PG_DIR), listening
# on 127.0.0.1 only, port 54329, trust authentication, superuser `postgres`.
# Idempotent and quiet when the server is already running; prints the URL when
# it starts it. Tests reach it through
#   KIOSK_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:54329/postgres
# (test.sh exports it). `scripts/postgres.sh stop` stops it; removing its
# directory then forgets it.
#
# Durability is switched off (fsync, synchronous_commit, full_page_writes):
# nothing in this cluster outlives a test run.
set -euo pipefail

PORT=${KIOSK_PG_PORT:-54329}
# Each test creates a database, about 300 files: on this machine's ext4 /tmp,
# churned by the test suite, that took 280 ms; in tmpfs, 10 ms. Docker's
# /dev/shm is 64 MB, though: then /tmp.
shm_free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')
if [ "${shm_free_kb:-0}" -ge 1048576 ]; then DEFAULT_ROOT=/dev/shm/kiosk-pg; else DEFAULT_ROOT=/tmp/kiosk-pg; fi
ROOT=${KIOSK_PG_DIR:-$DEFAULT_ROOT}
DATA=$ROOT/data
LOG=$ROOT/server.log
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"

say() { echo "postgres.sh: $*" >&2; }

# Debian keeps the server's programs in /usr/lib/postgresql/<major>/bin, off
# PATH (/usr/bin only has the pg_ctlcluster wrappers); take the newest major.
find_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

if ! BIN=$(find_bindir); then
  say "installing Debian's postgresql package"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  BIN=$(find_bindir) || { say "no initdb/pg_ctl under /usr/lib/postgresql/*/bin after installing"; exit 1; }
fi

# PostgreSQL refuses to run as root: as root the cluster belongs to `postgres`.
if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  OWNER=$(id -un)
  as_owner() { "$@"; }
fi

# Two test runs starting at once must not both run initdb.
mkdir -p "$ROOT"
chmod 0755 "$ROOT"
exec 9>"$ROOT/.lock"
flock 9

running() { [ -s "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

if [ "${1:-}" = stop ]; then
  if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null && say "stopped"; fi
  exit 0
fi
running && exit 0

if [ ! -s "$DATA/PG_VERSION" ]; then
  say "creating a throw-away cluster in $DATA (owner $OWNER)"
  rm -rf "$DATA"
  install -d -m 0700 -o "$OWNER" "$DATA"
  touch "$LOG" && chown "$OWNER" "$LOG"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # The socket goes in the data directory (Debian's /var/run/postgresql may
  # not exist, or belong to another cluster); TCP on loopback only.
  cat >>"$DATA/postgresql.conf" <<EOF

# scripts/postgres.sh: a test cluster
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
fi

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  say "port $PORT is taken by another server; set KIOSK_PG_PORT to a free port"
  exit 1
fi
# 9>&-: the server must not inherit (and hold forever) the lock.
if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 9>&-; then
  say "the server did not start; its log:"
  tail -n 20 "$LOG" >&2
  exit 1
fi
say "PostgreSQL $("$BIN/postgres" -V | awk '{print $3}') running on 127.0.0.1:$PORT ($DATA)"
echo "$URL"
