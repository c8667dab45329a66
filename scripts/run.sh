#!/usr/bin/env bash
# `make run`: the web app, a worker and a local S3 server, with a demo account. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var

# Local secrets, made once and kept out of git (var/ is ignored). Variables already set win.
if [ ! -f var/local.env ]; then
  umask 077
  {
    echo "SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')"
    echo "LOCAL_S3_ACCESS_KEY_ID=$($PY -c 'import secrets; print(secrets.token_hex(10))')"
    echo "LOCAL_S3_SECRET_ACCESS_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(30))')"
    echo "DEMO_PASSWORD=$($PY -c 'import secrets; print(secrets.token_urlsafe(9))')"
  } > var/local.env
fi
set -a; . var/local.env; set +a
export DEBUG="${DEBUG:-1}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ -z "${S3_ENDPOINT_URL:-}" ]; then
  export S3_ENDPOINT_URL="http://127.0.0.1:8333"
  export S3_ACCESS_KEY_ID="$LOCAL_S3_ACCESS_KEY_ID" S3_SECRET_ACCESS_KEY="$LOCAL_S3_SECRET_ACCESS_KEY"
  rm -f var/s3.ready
  $PY scripts/s3server.py --dir var/s3 --port 8333 --ready-file var/s3.ready & pids+=($!)
  for _ in $(seq 300); do [ -f var/s3.ready ] && break; sleep 0.2; done
  [ -f var/s3.ready ] || { echo "The local S3 server did not start; see var/s3/weed.log"; exit 1; }
fi

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py demo --password "$DEMO_PASSWORD"

.venv/bin/celery -A workers.celery_app worker -Q gpu,cpu --pool solo --concurrency 1 -l INFO & pids+=($!)
$PY manage.py runserver 127.0.0.1:8000 --noreload & pids+=($!)
sleep 2
cat <<MSG

  Highlighter is running on http://127.0.0.1:8000
  Log in as:  demo / $DEMO_PASSWORD
  A demo video is already processing; var/demo/ holds sample videos to upload yourself.
  Ctrl-C stops the web app, the worker and the S3 server.

MSG
wait -n "${pids[@]}"
