#!/usr/bin/env bash
# Stop the peer system started by start.sh: PostGraphile by the PID in
# STATE_DIR/postgraphile.pid, PostgreSQL with pg_ctl stop -m fast on
# STATE_DIR/pg. Idempotent: stopping what is not running is fine. The data
# stays in STATE_DIR (remove the folder to drop it).
# Usage: bench/peer/stop.sh STATE_DIR
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
PGUSER_OS=chisobench
say() { echo "stop.sh: $*"; }

[[ $# -eq 1 ]] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
STATE_DIR=$(realpath -m "$1")
[[ -d $STATE_DIR ]] || { say "$STATE_DIR does not exist: nothing to stop"; exit 0; }

pidfile=$STATE_DIR/postgraphile.pid
if [[ -f $pidfile ]]; then
  pid=$(cat "$pidfile")
  # Only a live process that is PostGraphile (guards against a reused PID).
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q postgraphile; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; say "PostGraphile (pid $pid) killed"; else say "PostGraphile (pid $pid) stopped"; fi
  else
    say "PostGraphile not running"
  fi
  rm -f "$pidfile"
else
  say "PostGraphile not running (no $pidfile)"
fi

PGDATA=$STATE_DIR/pg
if [[ -f $PGDATA/PG_VERSION ]]; then
  if [[ $(id -u) -eq 0 ]]; then AS_PG=(runuser -u "$(stat -c %U "$PGDATA")" --); else AS_PG=(); fi
  if "${AS_PG[@]}" "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; then
    "${AS_PG[@]}" "$PGBIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 120 >/dev/null
    say "PostgreSQL stopped"
  else
    say "PostgreSQL not running"
  fi
else
  say "no cluster in $PGDATA"
fi
rm -f "$STATE_DIR/postgres.pid"
