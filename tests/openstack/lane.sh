#!/usr/bin/env bash
# The real OpenStack lane (`make test-openstack`): start the lab, run tests/contract/ against it
# as a project member (admin for quotas and projects), then tests/clients/ (the openstack CLI
# sequence and the Ansible playbook, unmodified, each twice), then tests/openstack/ (the portal
# end to end: PostgreSQL, a private Redis, a real Celery worker), and stop the lab with its
# databases.
#
#   OPENSTACK_LAB  the lab's scripts (../shared/openstack-lab)
#   LAB_HOME       where the lab lives (var/openstack-lab, git-ignored)
#   LAB_DB_PREFIX  its databases on the shared MariaDB (portal_lab_), so a purge drops only ours
#   LAB_KEEP=1     leave the lab running afterwards (the next run then starts in ~10 s)
#   DATABASE_URL   the portal's PostgreSQL (default: database portal_openstack, tests use
#                  test_portal_openstack, so this lane never collides with `make test`)
#   PYTEST_ARGS    extra pytest arguments for both runs
set -euo pipefail
cd "$(dirname "$0")/../.."

LAB=${OPENSTACK_LAB:-../shared/openstack-lab}
export LAB_HOME=${LAB_HOME:-$PWD/var/openstack-lab}
export LAB_DB_PREFIX=${LAB_DB_PREFIX:-portal_lab_}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_openstack}
PYTEST=${PYTEST:-.venv/bin/pytest}
read -r -a EXTRA <<<"${PYTEST_ARGS:-}"

begin=$(date +%s)
now() { echo $(($(date +%s) - begin)); }
stop_lab() {
  if [ "${LAB_KEEP:-0}" = 1 ]; then
    echo "[lane] lab left running (LAB_HOME=$LAB_HOME); stop it with: LAB_HOME=$LAB_HOME" \
      "LAB_DB_PREFIX=$LAB_DB_PREFIX bash $LAB/down.sh --purge"
  else
    bash "$LAB/down.sh" --purge || true
  fi
}
trap stop_lab EXIT

# A lab that is not running starts from nothing. A run killed before its trap, or a checkout
# elsewhere with the same prefix, may have left databases on the shared MariaDB; Nova then
# knows a compute host whose state directory is gone and refuses to start it ("No local node
# identity found, but this is not our first startup on this host"). The lab's own purge drops
# only the databases its run directory recorded, so the leftovers are dropped by name here.
lab_running() {
  [ -f "$LAB_HOME/run/keystone.pid" ] && kill -0 "$(cat "$LAB_HOME/run/keystone.pid")" 2>/dev/null
}
drop_leftover_databases() {
  command -v mysql >/dev/null || return 0
  local pattern=${LAB_DB_PREFIX//_/\\_} dbs db
  dbs=$(mysql -N -e "SHOW DATABASES LIKE '${pattern}%'" 2>/dev/null) || return 0
  for db in $dbs; do
    mysql -e "DROP DATABASE \`$db\`" && echo "[lane] dropped leftover database $db"
  done
  return 0
}
start_fresh() {
  [ -d "$LAB_HOME" ] && { bash "$LAB/down.sh" --purge || true; }
  drop_leftover_databases
}
lab_running || start_fresh

# up.sh is idempotent; one more try, from nothing again, covers a start that trips over its
# own checks (a half-registered compute host would otherwise fail the second try the same way).
for attempt in 1 2; do
  if bash "$LAB/up.sh"; then break; fi
  [ "$attempt" = 2 ] && { echo "[lane] the lab did not start; logs in $LAB_HOME/logs" >&2; exit 1; }
  echo "[lane] up.sh failed; starting it once more from nothing (its logs: $LAB_HOME-failed-logs)" >&2
  rm -rf "$LAB_HOME-failed-logs" && cp -r "$LAB_HOME/logs" "$LAB_HOME-failed-logs" 2>/dev/null || true
  start_fresh
done
lab_up=$(now)

# The contract tests act as a project member, as the portal does in an allocation's project.
python3 "$LAB/lab_tenant.py" --domain portal-contract --project contract \
  --user portal-contract --password portal-contract-pw --cloud lab-contract
export CLOUDS_YAML=$LAB_HOME/clouds.yaml

status=0
PORTAL_CONTRACT_CLOUD=lab-contract PORTAL_CONTRACT_ADMIN_CLOUD=lab \
  "$PYTEST" -p no:warnings tests/contract "${EXTRA[@]}" || status=$?
contract_done=$(now)
# The same clients, the same cloud and user as the contract tests.
PORTAL_CLIENTS_CLOUD=lab-contract PORTAL_CLIENTS_ADMIN_CLOUD=lab \
  "$PYTEST" -p no:warnings tests/clients "${EXTRA[@]}" || status=$?
clients_done=$(now)
PORTAL_OPENSTACK_LAB=1 PORTAL_OPENSTACK_CLOUD=lab \
  "$PYTEST" -p no:warnings tests/openstack "${EXTRA[@]}" || status=$?
e2e_done=$(now)

echo "[lane] lab up ${lab_up}s, contract tests $((contract_done - lab_up))s," \
  "client tests $((clients_done - contract_done))s," \
  "end-to-end tests $((e2e_done - clients_done))s, total before stopping ${e2e_done}s"
exit "$status"
