#!/usr/bin/env bash
# `make faults`: the fault suite (tests/faults) against private PostgreSQL, Redis and S3 servers and
# Celery workers of its own, on ports nobody else uses, in a throwaway folder. Needs root (a small tmpfs
# is mounted as the workers' disk, and PostgreSQL runs as the postgres user). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

dir=$(mktemp -d /tmp/highlighter-faults.XXXXXX)
trap 'umount --lazy "$dir/work" 2>/dev/null || true; rm -rf "$dir"' EXIT
export FAULTS_DIR="$dir" HIGHLIGHTER_FAULTS=1
export FAULTS_PG_PORT="${FAULTS_PG_PORT:-55432}" FAULTS_REDIS_PORT="${FAULTS_REDIS_PORT:-56379}"
export FAULTS_S3_PORT="${FAULTS_S3_PORT:-38544}"
export S3_ACCESS_KEY_ID="faults$(date +%s)" S3_SECRET_ACCESS_KEY="$($PY -c 'import secrets; print(secrets.token_hex(16))')"
export S3_ENDPOINT_URL="http://127.0.0.1:$FAULTS_S3_PORT" S3_BUCKET="highlighter-faults"
export DATABASE_URL="postgres://postgres@127.0.0.1:$FAULTS_PG_PORT/highlighter"
export CELERY_BROKER_URL="redis://127.0.0.1:$FAULTS_REDIS_PORT/0"
export SECRET_KEY="faults-only-$(date +%s)" OMP_NUM_THREADS=1
.venv/bin/pytest tests/faults "$@"
