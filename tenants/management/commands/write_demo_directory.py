"""Write the seeds of the demo's directory (LDAP) and provider (OpenID Connect): their people,
groups, and the portal as the provider's client."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from tenants import demo


class Command(BaseCommand):
    help = "Write the demo directory's and provider's seeds (idp.directory, idp.oidc)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--directory-seed", required=True, help="path of the LDAP seed")
        parser.add_argument("--provider-seed", required=True, help="path of the provider seed")
        parser.add_argument("--callback", required=True,
                            help="the portal's /oidc/callback/ URL")  # fmt: skip

    def handle(self, *args, directory_seed: str, provider_seed: str, callback: str, **options):
        groups = sorted({group for group, *_ in demo.DIRECTORY_RULES})
        Path(directory_seed).write_text(json.dumps({
            "users": [person.seed() for person in demo.LDAP_PEOPLE], "groups": groups,
        }, indent=2))  # fmt: skip
        Path(provider_seed).write_text(json.dumps({
            "users": [person.seed() for person in demo.OIDC_PEOPLE],
            "clients": [{"client_id": demo.OIDC_CLIENT_ID,
                         "client_secret": demo.OIDC_CLIENT_SECRET,
                         "redirect_uris": [callback]}],
        }, indent=2))  # fmt: skip
