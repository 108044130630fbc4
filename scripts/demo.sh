#!/usr/bin/env bash
# Start the whole portal on embedded defaults: migrate, seed, start the cloud simulator, sync
# the catalog, then web + worker + beat under honcho. Everything lives under var/demo; Ctrl-C
# stops every process this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8000}"
CLOUDSIM_PORT="${CLOUDSIM_PORT:-8800}"
LDAP_PORT="${LDAP_PORT:-3890}"
IDP_PORT="${IDP_PORT:-8890}"
DEMO=var/demo
mkdir -p "$DEMO"

export PORTAL_PROFILE=demo
export DATABASE_URL="${DATABASE_URL:-sqlite:///$PWD/$DEMO/portal.sqlite3}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export CLOUDS_YAML="${CLOUDS_YAML:-$PWD/$DEMO/clouds.yaml}"
export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}"
export PORTAL_URL="http://127.0.0.1:${PORT}"
export PORT
# Text logs for a terminal (production logs JSON).
export PORTAL_LOG_FORMAT="${PORTAL_LOG_FORMAT:-plain}"
# Mail the portal sends (notifications, reminders, the monthly PDF report) lands as files here.
export EMAIL_BACKEND="${EMAIL_BACKEND:-django.core.mail.backends.filebased.EmailBackend}"
export EMAIL_FILE_PATH="${EMAIL_FILE_PATH:-$PWD/$DEMO/mail}"
export PORTAL_MONTHLY_REPORT_RECIPIENTS="${PORTAL_MONTHLY_REPORT_RECIPIENTS:-sla-manager@agency.example}"
# Single sign-on against the demo's own directory and provider (started below).
export PORTAL_OIDC_ISSUER="http://127.0.0.1:${IDP_PORT}/o"
export PORTAL_OIDC_CLIENT_ID=portal-demo PORTAL_OIDC_CLIENT_SECRET=portal-demo-client-secret
export PORTAL_OIDC_NAME="${PORTAL_OIDC_NAME:-Agency sign-in (demo)}"

# The same settings for one-off commands next to the running demo (". var/demo/env").
export -p | grep -E ' (PORTAL_|DATABASE_URL|REDIS_URL|CLOUDS_YAML|DJANGO_|EMAIL_|PORT=)' > "$DEMO/env"

procfile="$DEMO/Procfile"
cp Procfile "$procfile"
# The broker: use the machine's Redis when it answers, else run one for the demo.
if ! $BIN/python -c "import redis, os; redis.Redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    echo "redis: redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no" >> "$procfile"
  else
    echo "Redis is not reachable at $REDIS_URL and redis-server is not installed." >&2
    echo "Install it (apt-get install redis-server) or set REDIS_URL." >&2
    exit 1
  fi
fi

$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py seed_demo > "$DEMO/logins.txt"

# The cloud simulator, seeded to match the demo's regions and allocations.
$BIN/python manage.py write_demo_cloud --base-url "http://127.0.0.1:${CLOUDSIM_PORT}" \
  --seed "$DEMO/cloudsim-seed.yaml" --clouds-yaml "$CLOUDS_YAML" >/dev/null
$BIN/python -m cloudsim --port "$CLOUDSIM_PORT" --state "$DEMO/cloudsim.sqlite3" \
  --seed "$DEMO/cloudsim-seed.yaml" --build-time 5 > "$DEMO/cloudsim.log" 2>&1 &
pids="$!"
trap 'kill $pids 2>/dev/null || true' EXIT
cloudsim_pid=$pids
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:${CLOUDSIM_PORT}/_sim/health" >/dev/null && break
  sleep 0.2
done
if ! kill -0 "$cloudsim_pid" 2>/dev/null; then
  echo "The cloud simulator did not start (is port ${CLOUDSIM_PORT} taken? set CLOUDSIM_PORT):" >&2
  tail -5 "$DEMO/cloudsim.log" >&2
  exit 1
fi
$BIN/python manage.py sync_catalog >/dev/null
$BIN/python manage.py sync_allocations >/dev/null
# One request left waiting for a decision since 13 hours: the deadline check escalates it.
$BIN/python manage.py seed_demo_waiting >/dev/null
# Last June's decisions in NATO RESTRICTED (working time): the June report leaves out Whit Monday.
$BIN/python manage.py seed_demo_history >/dev/null

# The agency's identity services: an OpenID Connect provider, and a directory when slapd is
# installed (apt-get install slapd); their people are printed with the logins.
$BIN/python manage.py write_demo_directory --directory-seed "$DEMO/directory-seed.json" \
  --provider-seed "$DEMO/provider-seed.json" --callback "$PORTAL_URL/oidc/callback/"
$BIN/python -m idp.oidc --port "$IDP_PORT" --state "$DEMO/idp" --seed "$DEMO/provider-seed.json" \
  > "$DEMO/idp.log" 2>&1 &
pids="$pids $!"
sso="  Sign-in:   OpenID Connect provider on http://127.0.0.1:${IDP_PORT}/o (log: $DEMO/idp.log)"
if [ -x /usr/sbin/slapd ] || command -v slapd >/dev/null; then
  $BIN/python -m idp.directory --port "$LDAP_PORT" --dir "$DEMO/ldap" \
    --seed "$DEMO/directory-seed.json" > "$DEMO/ldap.log" 2>&1 &
  pids="$pids $!"
  export PORTAL_LDAP_URL="ldap://127.0.0.1:${LDAP_PORT}"
  export PORTAL_LDAP_BIND_DN="cn=portal,ou=services,dc=agency,dc=example"
  export PORTAL_LDAP_BIND_PASSWORD=directory-service
  export PORTAL_LDAP_USER_BASE="ou=people,dc=agency,dc=example"
  export PORTAL_LDAP_GROUP_BASE="ou=groups,dc=agency,dc=example"
  sso="$sso
             directory (LDAP) on ldap://127.0.0.1:${LDAP_PORT} (log: $DEMO/ldap.log)"
else
  sso="$sso
             no directory: slapd is not installed (apt-get install slapd ldap-utils)"
fi
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:${IDP_PORT}/o/.well-known/openid-configuration" >/dev/null && break
  sleep 0.2
done

cat "$DEMO/logins.txt"
cat <<MSG

  Portal:    http://127.0.0.1:${PORT}/
  API docs:  http://127.0.0.1:${PORT}/api/docs/
  Admin:     http://127.0.0.1:${PORT}/admin/   (oscar)
  Cloud:     cloudsim on http://127.0.0.1:${CLOUDSIM_PORT}/ (log: $DEMO/cloudsim.log)
  Mail:      every e-mail the portal sends is a file in $DEMO/mail/; the monthly PDF report
             of last month now: . $DEMO/env && .venv/bin/python manage.py monthly_report
$sso
  Stop:      Ctrl-C

MSG
# Ctrl-C stops every process; that is how the demo ends, not a failure (no "Error 130" from
# make). The handler (rather than ignoring INT) keeps honcho and its children interruptible.
trap ':' INT
status=0
$BIN/honcho -f "$procfile" start || status=$?
if [ "$status" -eq 130 ] || [ "$status" -eq 143 ]; then
  echo "Stopped."
  exit 0
fi
exit "$status"
