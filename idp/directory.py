"""A real OpenLDAP directory on loopback with a seeded tree.

``python -m idp.directory --port 3890 --dir var/demo/ldap --seed seed.json`` writes a
``slapd.conf``, loads the tree with ``slapadd`` (people under ``ou=people``, groups as
``groupOfNames`` under ``ou=groups``, a read-only service account ``cn=portal,ou=services``),
and runs ``slapd`` in the foreground until stopped. ``Directory`` does the same for tests.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIX = "dc=agency,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=portal,ou=services,{SUFFIX}"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def available() -> bool:
    return Path(SLAPD).exists() and Path(SLAPADD).exists()


def ssha(password: str) -> str:
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def user_dn(username: str) -> str:
    return f"uid={username},{PEOPLE}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def seed_ldif(seed: dict, service_password: str) -> str:
    """The whole tree as LDIF: the suffix, its three units, the people and their groups."""
    entries = [
        [f"dn: {SUFFIX}", "objectClass: dcObject", "objectClass: organization",
         "dc: agency", "o: Agency"],
        *([f"dn: ou={ou},{SUFFIX}", "objectClass: organizationalUnit", f"ou: {ou}"]
          for ou in ("people", "groups", "services")),
        [f"dn: {SERVICE_DN}", "objectClass: organizationalRole",
         "objectClass: simpleSecurityObject", "cn: portal",
         f"userPassword: {ssha(service_password)}"],
    ]  # fmt: skip
    members: dict[str, list[str]] = {}
    for user in seed.get("users", []):
        name = user["username"]
        entries.append([
            f"dn: {user_dn(name)}", "objectClass: inetOrgPerson", f"uid: {name}",
            f"cn: {user.get('given_name', '')} {user.get('family_name', name)}".strip(),
            f"sn: {user.get('family_name') or name}", f"givenName: {user.get('given_name', '')}",
            f"mail: {user.get('email', f'{name}@agency.example')}",
            f"userPassword: {ssha(user['password'])}",
        ])  # fmt: skip
        for group in user.get("groups", []):
            members.setdefault(group, []).append(user_dn(name))
    for group in seed.get("groups", []):
        members.setdefault(group, [])
    for group, dns in sorted(members.items()):
        # groupOfNames needs a member: an empty group holds the service account.
        entries.append([f"dn: {group_dn(group)}", "objectClass: groupOfNames", f"cn: {group}",
                        *(f"member: {dn}" for dn in (dns or [SERVICE_DN]))])  # fmt: skip
    return "\n\n".join("\n".join(line for line in e if not line.endswith(": ")) for e in entries)


def slapd_conf(root: Path, root_password: str) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ssha(root_password)}
directory {root}/data
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by anonymous auth
"""


@dataclass
class Directory:
    """One slapd on 127.0.0.1:``port`` holding ``seed``; ``start()`` and ``stop()``."""

    root: Path
    port: int
    seed: dict
    root_password: str = "directory-admin"
    service_password: str = "directory-service"
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        """Write the configuration and load the tree (a fresh one each time)."""
        shutil.rmtree(self.root / "data", ignore_errors=True)
        (self.root / "data").mkdir(parents=True)
        conf = self.root / "slapd.conf"
        conf.write_text(slapd_conf(self.root, self.root_password))
        ldif = self.root / "seed.ldif"
        ldif.write_text(seed_ldif(self.seed, self.service_password) + "\n")
        subprocess.run([SLAPADD, "-q", "-f", str(conf), "-l", str(ldif)], check=True,
                       capture_output=True)  # fmt: skip

    def start(self, timeout: float = 15) -> Directory:
        self.prepare()
        log = (self.root / "slapd.log").open("ab")
        self.process = subprocess.Popen(
            [SLAPD, "-f", str(self.root / "slapd.conf"), "-h", self.url + "/", "-d", "0"],
            stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd ended at start: see {self.root / 'slapd.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"slapd did not listen on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def portal_environment(self) -> dict[str, str]:
        """The portal's settings for this directory."""
        return {
            "PORTAL_LDAP_URL": self.url,
            "PORTAL_LDAP_BIND_DN": SERVICE_DN,
            "PORTAL_LDAP_BIND_PASSWORD": self.service_password,
            "PORTAL_LDAP_USER_BASE": PEOPLE,
            "PORTAL_LDAP_GROUP_BASE": GROUPS,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="idp.directory", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LDAP_PORT", "3890")))
    parser.add_argument("--dir", default="var/ldap")
    parser.add_argument("--seed", required=True, help="seed JSON (users and their groups)")
    args = parser.parse_args(argv)
    if not available():
        print("slapd is not installed (apt-get install slapd ldap-utils)", file=sys.stderr)
        return 2
    directory = Directory(
        Path(args.dir).resolve(), args.port, json.loads(Path(args.seed).read_text())
    )
    directory.start()
    print(f"directory on {directory.url} ({SUFFIX})", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: directory.stop())
    try:
        directory.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        directory.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
