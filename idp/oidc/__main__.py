"""Command line: ``python -m idp.oidc --port 8890 --state var/demo/idp --seed seed.json``.

Creates its database and signing key under ``--state`` on first start, loads the seed (people,
groups, clients), prints its issuer and serves on 127.0.0.1 until stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path


def _signing_key(state: Path) -> None:
    key_file = state / "signing-key.pem"
    if key_file.exists():
        return
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="idp.oidc", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("IDP_PORT", "8890")))
    parser.add_argument("--state", default="var/idp")
    parser.add_argument("--seed", default="", help="seed JSON (users, groups, clients)")
    args = parser.parse_args(argv)
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    _signing_key(state)
    os.environ["IDP_STATE"] = str(state)
    os.environ["DJANGO_SETTINGS_MODULE"] = "idp.oidc.settings"

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    from idp.oidc.views import client_upsert, user_upsert

    call_command("migrate", verbosity=0, interactive=False)
    if args.seed:
        seed = json.loads(Path(args.seed).read_text())
        for user in seed.get("users", []):
            user_upsert(user)
        for client in seed.get("clients", []):
            client_upsert(client)
    print(f"OpenID Connect provider on http://127.0.0.1:{args.port}/o", flush=True)
    WSGIServer.request_queue_size = 32
    with contextlib.suppress(KeyboardInterrupt):
        run("127.0.0.1", args.port, get_wsgi_application(), threading=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
