#!/usr/bin/env bash
# Installs Ansible's openstack.cloud collection 2.6.0 into the venv's site-packages, where
# ansible-core finds it without ANSIBLE_COLLECTIONS_PATH.
#
# Why not the `ansible` package from PyPI: the last one that installs on Python 3.11 (12.3.0)
# ships openstack.cloud 2.5.0, whose modules read `openstack.version`, a module openstacksdk
# 4.22 no longer imports ("module 'openstack' has no attribute 'version'"). openstack.cloud 2.6.0
# reads nothing of the kind; it is shipped, unmodified, in the `ansible` 14.5.0 wheel (Python
# 3.12 and later for its own ansible-core, which we do not use). Galaxy is not reachable from
# every machine that builds the venv; PyPI is. The wheel's checksum is pinned here.
set -euo pipefail
VENV=${1:-.venv}
ANSIBLE_WHEEL_VERSION=14.5.0
COLLECTION_VERSION=2.6.0
SHA256=245623ccc2d31d0f6f4bdb63168d550cad305fb032cc43d96e8f61ce8ab0ba84

site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
target=$site/ansible_collections/openstack/cloud
if grep -q "\"version\": \"$COLLECTION_VERSION\"" "$target/MANIFEST.json" 2>/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV/bin/pip" download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  "ansible==$ANSIBLE_WHEEL_VERSION" -d "$work"
wheel="$work/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl"
echo "$SHA256  $wheel" | sha256sum --check --quiet
"$VENV/bin/python" - "$wheel" "$site" <<'PY'
import sys
import zipfile

wheel, site = sys.argv[1], sys.argv[2]
prefix = "ansible_collections/openstack/cloud/"
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(site, [n for n in archive.namelist() if n.startswith(prefix)])
PY
grep -q "\"version\": \"$COLLECTION_VERSION\"" "$target/MANIFEST.json"
echo "openstack.cloud $COLLECTION_VERSION installed in $site"
