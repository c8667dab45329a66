#!/usr/bin/env bash
# `make test`: start what the tests need (S3 server; PostgreSQL and Redis if down), run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "Starting PostgreSQL..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis..."
  mkdir -p /var/lib/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis
fi

tmp=$(mktemp -d)
export S3_ACCESS_KEY_ID="test$(date +%s)" S3_SECRET_ACCESS_KEY="$($PY -c 'import secrets; print(secrets.token_hex(16))')"
export S3_PORT="${S3_TEST_PORT:-8533}"
export S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" S3_BUCKET="highlighter-test"
$PY scripts/s3server.py --dir "$tmp/s3" --port "$S3_PORT" --ready-file "$tmp/s3.ready" > "$tmp/s3.out" 2>&1 &
s3pid=$!
enginepid=
trap 'kill $s3pid $enginepid 2>/dev/null; wait $s3pid $enginepid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do [ -f "$tmp/s3.ready" ] && break; sleep 0.2; done
[ -f "$tmp/s3.ready" ] || { cat "$tmp/s3.out" "$tmp/s3/weed.log" 2>/dev/null | tail -30; echo "S3 server did not start"; exit 1; }

export SECRET_KEY="test-only-$(date +%s)"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/highlighter}"
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}"
export WORK_DIR="$tmp/work" OMP_NUM_THREADS=1
if [ $# -gt 0 ]; then
  .venv/bin/pytest "$@"
  exit
fi

# The whole suite as two pytest processes at once, one a core (each runs torch on one thread): the
# engine's tests (tracking, rendering, evaluation, the CLI), which use none of the services, and the
# rest (web app, workers, browser, recovery), where any new folder lands. One after the other they
# took 27 min on a slow 2-core machine, over the 25 the suite is allowed. The engine's half gets a
# database, broker database, bucket and work folder of its own, so that a test that ever does reach
# a service there cannot touch the other half's; its report follows the other's.
engine=(tests/engine tests/eval tests/models tests/track tests/test_cli.py)
ignored=()
for path in "${engine[@]}"; do ignored+=("--ignore=$path"); done
echo "Running the engine's tests (${engine[*]}) beside the rest; their report comes after the rest's."
(
  if [[ $DATABASE_URL =~ ^(.*/)([^/?]+)(\?.*)?$ ]]; then
    export DATABASE_URL="${BASH_REMATCH[1]}${BASH_REMATCH[2]}_engine${BASH_REMATCH[3]}"
  fi
  if [[ $CELERY_BROKER_URL =~ ^(.*/)[0-9]+$ ]]; then
    export CELERY_BROKER_URL="${BASH_REMATCH[1]}14"
  fi
  export S3_BUCKET="highlighter-test-engine" WORK_DIR="$tmp/work-engine"
  exec .venv/bin/pytest "${engine[@]}" > "$tmp/engine.log" 2>&1
) &
enginepid=$!
rest=0
.venv/bin/pytest "${ignored[@]}" || rest=$?
status=0
wait $enginepid || status=$?
enginepid=  # reaped: the exit trap must not signal a process that may since have taken its number
echo
echo "=============================== the engine's tests ==============================="
cat "$tmp/engine.log"
echo "make test: the rest exited $rest, the engine's tests $status (0 is a pass)"
[ "$rest" -eq 0 ] && [ "$status" -eq 0 ]
