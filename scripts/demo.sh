#!/usr/bin/env bash
# Start the whole portal on embedded defaults: migrate, seed, then web + worker + beat under
# honcho. Everything lives under var/demo; Ctrl-C stops every process honcho started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8000}"
mkdir -p var/demo

export PORTAL_PROFILE=demo
export DATABASE_URL="${DATABASE_URL:-sqlite:///$PWD/var/demo/portal.sqlite3}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export CLOUDS_YAML="${CLOUDS_YAML:-$PWD/var/demo/clouds.yaml}"
export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}"
export PORT

procfile=var/demo/Procfile
cp Procfile "$procfile"
# The broker: use the machine's Redis when it answers, else run one for the demo.
if ! $BIN/python -c "import redis, os; redis.Redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    echo "redis: redis-server --port 6379 --save '' --appendonly no" >> "$procfile"
  else
    echo "Redis is not reachable at $REDIS_URL and redis-server is not installed." >&2
    echo "Install it (apt-get install redis-server) or set REDIS_URL." >&2
    exit 1
  fi
fi

$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py seed_demo

cat <<MSG

  Portal:    http://127.0.0.1:${PORT}/
  API docs:  http://127.0.0.1:${PORT}/api/docs/
  Admin:     http://127.0.0.1:${PORT}/admin/   (oscar)
  Stop:      Ctrl-C

MSG
exec $BIN/honcho -f "$procfile" start
