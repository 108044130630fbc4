"""A real OpenLDAP directory and a real OpenID Connect provider on loopback, started once per
test session, and the portal's settings pointed at them for the tests that ask.

Each test gets a directory and a provider holding exactly the seed below (the directory's tree
is reloaded, the provider's people reset), so tests may add, move and remove people freely.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ldap
import pytest
import requests

from cloudsim.pytest_plugin import free_port
from idp import directory as ldap_directory
from portal.sso.config import ldap_settings, oidc_settings

PASSWORD = "a-directory-passphrase"
CLIENT_ID, CLIENT_SECRET = "portal-tests", "portal-tests-secret"
CALLBACK = "http://testserver/oidc/callback/"
SEED = {
    "users": [
        {"username": "lena", "password": PASSWORD, "given_name": "Lena", "family_name": "Lind",
         "email": "lena@agency.example", "groups": ["blue-requesters", "cleared-unclass",
                                                    "site-mons"]},
        {"username": "leon", "password": PASSWORD, "given_name": "Leon", "family_name": "Laan",
         "groups": ["blue-approvers", "blue-requesters"]},
        {"username": "olga", "password": PASSWORD, "given_name": "Olga", "family_name": "Orban",
         "email": "olga@agency.example", "groups": ["blue-requesters", "cleared-unclass"]},
        {"username": "omar", "password": PASSWORD, "given_name": "Omar", "family_name": "Ozil",
         "groups": ["portal-operators"]},
    ],
    "groups": ["portal-operators", "site-oeiras"],
    "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                 "redirect_uris": [CALLBACK]}],
}  # fmt: skip


@pytest.fixture(scope="session")
def _slapd(tmp_path_factory) -> Iterator[ldap_directory.Directory]:
    if not ldap_directory.available():
        pytest.fail("slapd is not installed: apt-get install slapd ldap-utils (.ci/run does)")
    directory = ldap_directory.Directory(tmp_path_factory.mktemp("slapd"), free_port(), SEED)
    directory.start()
    yield directory
    directory.stop()


@pytest.fixture
def directory(_slapd) -> Iterator[ldap_directory.Directory]:
    """The directory, holding the seed's tree again."""
    _slapd.stop()
    _slapd.start()
    yield _slapd


@pytest.fixture
def ldap_on(settings, directory) -> ldap_directory.Directory:
    """The portal signs people in against ``directory``."""
    env = directory.portal_environment()
    for name, value in ldap_settings(
        url=env["PORTAL_LDAP_URL"], bind_dn=env["PORTAL_LDAP_BIND_DN"],
        bind_password=env["PORTAL_LDAP_BIND_PASSWORD"], user_base=env["PORTAL_LDAP_USER_BASE"],
        group_base=env["PORTAL_LDAP_GROUP_BASE"], timeout=2,
    ).items():  # fmt: skip
        setattr(settings, name, value)
    return directory


def directory_admin(directory: ldap_directory.Directory) -> ldap.ldapobject.LDAPObject:
    """A connection as the directory's administrator, to change the tree as its staff would."""
    connection = ldap.initialize(directory.url)
    connection.simple_bind_s(ldap_directory.ROOT_DN, directory.root_password)
    return connection


class Provider:
    """The loopback OpenID Connect provider process and its control API."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/o"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        seed = self.root / "seed.json"
        seed.write_text(json.dumps(SEED))
        log = (self.root / "idp.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "idp.oidc", "--port", str(self.port),
             "--state", str(self.root / "state"), "--seed", str(seed)],
            stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the provider ended at start: see {self.root / 'idp.log'}")
            try:
                requests.get(f"{self.url}/_idp/users/", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the provider did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def reset(self) -> None:
        known = {u["username"] for u in SEED["users"]}
        for user in requests.get(f"{self.url}/_idp/users/", timeout=5).json()["users"]:
            if user["username"] not in known:
                self.remove(user["username"])
        for user in SEED["users"]:
            self.put_user(**user)

    def put_user(self, **user) -> None:
        requests.post(f"{self.url}/_idp/users/", json=user, timeout=5).raise_for_status()

    def register(self, redirect_uri: str) -> None:
        """Let the portal at another address (a live server) be the provider's client too."""
        requests.post(f"{self.url}/_idp/clients/", json={
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uris": [CALLBACK, redirect_uri],
        }, timeout=5).raise_for_status()  # fmt: skip

    def remove(self, username: str) -> None:
        requests.delete(f"{self.url}/_idp/users/{username}/", timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def _provider(tmp_path_factory) -> Iterator[Provider]:
    provider = Provider(tmp_path_factory.mktemp("idp"))
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(_provider) -> Provider:
    _provider.reset()
    return _provider


@pytest.fixture
def oidc_on(settings, provider) -> Provider:
    """The portal signs people in through ``provider``."""
    for name, value in oidc_settings(
        issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, timeout=5
    ).items():
        setattr(settings, name, value)
    return provider


def provider_sign_in(client, provider: Provider, username: str, password: str = PASSWORD):
    """The whole authorisation code flow: the portal sends the browser to the provider, the
    person signs in there, the provider sends them back with a code, the portal redeems it.

    ``client`` is the portal's test client; a ``requests`` session plays the browser at the
    provider. Returns the portal's answer to the callback."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start
    browser = requests.Session()
    answer = browser.get(start["Location"], allow_redirects=True, timeout=10)
    assert "/login/" in answer.url, answer.url  # the provider's sign-in page
    answer = browser.post(
        answer.url,
        data={"username": username, "password": password,
              "csrfmiddlewaretoken": browser.cookies["idp_csrftoken"]},
        headers={"Referer": answer.url}, allow_redirects=False, timeout=10,
    )  # fmt: skip
    while answer.status_code == 302 and not answer.headers["Location"].startswith(CALLBACK):
        location = requests.compat.urljoin(answer.url, answer.headers["Location"])
        answer = browser.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    callback = answer.headers["Location"]
    assert callback.startswith(CALLBACK), callback
    return client.get(callback.removeprefix("http://testserver"))
