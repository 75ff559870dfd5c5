#!/usr/bin/env bash
# Send each benchmark query to the peer's GraphQL endpoint once and save the
# answers: for every key K of VARS_FILE (default queries/vars.small.json,
# the variables for gen_small_dataset.py's data), POST queries/K.graphql with
# those variables to http://127.0.0.1:GQL_PORT/graphql; write OUT_DIR/K.json
# and print the time, size and any GraphQL errors.
# Usage: bench/peer/run_queries.sh [GQL_PORT] [VARS_FILE] [OUT_DIR]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GQL_PORT=${1:-55433}
VARS=${2:-$HERE/queries/vars.small.json}
OUT=${3:-$(mktemp -d /tmp/peer-answers.XXXXXX)}
command -v jq >/dev/null || { echo "run_queries.sh: needs jq" >&2; exit 1; }
mkdir -p "$OUT"
url=http://127.0.0.1:$GQL_PORT/graphql
fail=0
for k in $(jq -r 'keys_unsorted[]' "$VARS"); do
  doc=$HERE/queries/$k.graphql
  [[ -f $doc ]] || { echo "$k: no $doc" >&2; fail=1; continue; }
  jq -n --rawfile q "$doc" --argjson v "$(jq -c --arg k "$k" '.[$k]' "$VARS")" '{query: $q, variables: $v}' >"$OUT/$k.request.json"
  t=$(curl -s -o "$OUT/$k.json" -w '%{time_total}' -m 60 "$url" \
    -H 'content-type: application/json' --data-binary @"$OUT/$k.request.json") || { echo "$k: request failed" >&2; fail=1; continue; }
  if jq -e '.errors' "$OUT/$k.json" >/dev/null; then
    echo "$k: ERROR $(jq -c '.errors' "$OUT/$k.json")"
    fail=1
  else
    printf '%-12s %6.1f ms %8d bytes\n' "$k" "$(awk -v t="$t" 'BEGIN { print t * 1000 }')" "$(wc -c <"$OUT/$k.json")"
  fi
done
echo "answers in $OUT"
exit $fail
