"""Grant, revoke and show security-domain clearances and site entitlements."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from guardian.shortcuts import get_objects_for_group, get_objects_for_user

from tenants import services
from tenants.access import DOMAIN_PERMISSION, OFFICER_PERMISSION, SITE_PERMISSION
from tenants.models import SecurityDomain, Site


class Command(BaseCommand):
    help = (
        "Manage who is cleared for which security domain and entitled to which site. "
        "Examples: access grant --user alice --domain nato-secret --site mons; "
        "access revoke --group analysts --site oeiras; access show --user alice"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["grant", "revoke", "show"])
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="username")
        who.add_argument("--group", help="group name (created by grant if missing)")
        parser.add_argument("--domain", action="append", default=[], help="domain slug")
        parser.add_argument("--site", action="append", default=[], help="site slug")
        parser.add_argument(
            "--officer", action="store_true", help="with --domain: security officer rights too"
        )
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="the person making the change, as the audit log will name them "
            "(without it: the system)",
        )

    def handle(self, *args, verb: str, **options) -> None:
        grantee = self._grantee(options, create=verb == "grant")
        if verb == "show":
            self._show(grantee)
            return
        if not options["domain"] and not options["site"]:
            raise CommandError("Name at least one --domain or --site.")
        domains = [self._get(SecurityDomain, slug) for slug in options["domain"]]
        sites = [self._get(Site, slug) for slug in options["site"]]
        actor = self._user(options["by"]) if options["by"] else None
        for domain in domains:
            change = {"grantee": grantee, "domain": domain, "actor": actor}
            if verb == "grant" and options["officer"]:
                services.security_officer_grant(**change)
            elif verb == "grant":
                services.domain_access_grant(**change)
            elif options["officer"]:
                services.security_officer_revoke(**change)
            else:
                services.domain_access_revoke(**change)  # the officer right goes with it
        for site in sites:
            change = {"grantee": grantee, "site": site, "actor": actor}
            if verb == "grant":
                services.site_access_grant(**change)
            else:
                services.site_access_revoke(**change)
        self.stdout.write(self.style.SUCCESS(f"{verb.capitalize()}ed."))
        self._show(grantee)

    def _grantee(self, options: dict, *, create: bool):
        if options["user"]:
            return self._user(options["user"])
        if create:
            return Group.objects.get_or_create(name=options["group"])[0]
        try:
            return Group.objects.get(name=options["group"])
        except Group.DoesNotExist:
            raise CommandError(f"No group named {options['group']!r}.") from None

    @staticmethod
    def _user(username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None

    @staticmethod
    def _get(model, slug: str):
        try:
            return model.objects.get(slug=slug)
        except model.DoesNotExist:
            known = ", ".join(model.objects.values_list("slug", flat=True))
            raise CommandError(f"No {model._meta.verbose_name} {slug!r}. Known: {known}.") from None

    def _show(self, grantee) -> None:
        def held(model, codename):
            perm = f"tenants.{codename}"
            if isinstance(grantee, Group):
                objs = get_objects_for_group(grantee, perm, model.objects.all())
            else:
                objs = get_objects_for_user(
                    grantee, perm, model.objects.all(), with_superuser=False
                )
            return ", ".join(o.slug for o in objs) or "none"

        self.stdout.write(f"Domains cleared: {held(SecurityDomain, DOMAIN_PERMISSION)}")
        self.stdout.write(f"Security officer of: {held(SecurityDomain, OFFICER_PERMISSION)}")
        self.stdout.write(f"Sites entitled: {held(Site, SITE_PERMISSION)}")
