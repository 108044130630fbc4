"""Create (or bring back to) the demo world. Running it twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants import demo, services
from tenants.models import Allocation, CloudRegion, DirectoryRule, SecurityDomain, Site, Tenant


class Command(BaseCommand):
    help = "Seed sites, security domains, regions, tenants, allocations and demo users."

    def handle(self, *args, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError(
                "seed_demo does not run in the production profile: its accounts share a "
                "published password."
            )
        with transaction.atomic():
            self._seed()
        self._print_logins()

    def _seed(self) -> None:
        sites = {
            slug: Site.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "location": location,
                    **dict(zip(("timezone", "country"), demo.SITE_CALENDARS[slug], strict=True)),
                },
            )[0]
            for name, slug, location in demo.SITES
        }
        domains, shorts = {}, {}
        for name, slug, short, level, marking, colour, officer, addresses in demo.DOMAINS:
            domains[slug] = SecurityDomain.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "level": level,
                    "marking": marking,
                    "banner_colour": colour,
                    "requires_security_officer": officer,
                    "external_addresses": addresses,
                    **_clock(slug),
                    **dict(
                        zip(
                            ("firewall_review", "open_ingress", "denied_ports"),
                            demo.FIREWALL[slug],
                            strict=True,
                        )
                    ),
                },
            )[0]
            shorts[slug] = short
        regions = {}
        for site_slug, site in sites.items():
            for domain_slug, domain in domains.items():
                slug = demo.region_slug(site_slug, shorts[domain_slug])
                regions[slug] = CloudRegion.objects.update_or_create(
                    site=site,
                    domain=domain,
                    defaults={"slug": slug, "cloud_name": slug, "region_name": slug},
                )[0]
        tenants = {}
        for name, slug, parent, description in demo.TENANTS:
            tenants[slug] = Tenant.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "description": description,
                    "parent": tenants.get(parent),
                },
            )[0]
        for tenant_slug, region_slugs in demo.ALLOCATIONS.items():
            for region_slug in region_slugs:
                Allocation.objects.get_or_create(
                    tenant=tenants[tenant_slug],
                    region=regions[region_slug],
                    defaults={"project_name": f"{tenant_slug}-{region_slug}"},
                )
        for spec in demo.USERS:
            self._seed_user(spec, tenants, domains, sites)
        self._seed_directory_rules(tenants, domains, sites)

    @staticmethod
    def _seed_directory_rules(tenants, domains, sites) -> None:
        """What the demo directory's and provider's groups give (``tenants.directory``)."""
        targets = {"membership": tenants, "clearance": domains, "site": sites}
        field_of = {"membership": "tenant", "clearance": "domain", "site": "site"}
        for group, right, target, role in demo.DIRECTORY_RULES:
            lookup = {"group": group, "right": right, "role": role}
            if target:
                lookup[field_of[right]] = targets[right][target]
            DirectoryRule.objects.get_or_create(**lookup)

    def _seed_user(self, spec: demo.DemoUser, tenants, domains, sites) -> None:
        first, _, last = spec.full_name.partition(" ")
        user, created = get_user_model().objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{spec.username}@portal.example",
                "is_staff": spec.operator,
            },
        )
        if created:
            user.set_password(demo.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        for tenant_slug, role in spec.memberships.items():
            services.membership_set(tenant=tenants[tenant_slug], user=user, role=role)
        for slug in spec.domains:
            services.domain_access_grant(grantee=user, domain=domains[slug])
        for slug in spec.sites:
            services.site_access_grant(grantee=user, site=sites[slug])
        for slug in spec.officer_of:
            services.security_officer_grant(grantee=user, domain=domains[slug])
        if spec.operator:
            services.portal_role_grant(user=user, role="operator")
        if spec.auditor:
            services.portal_role_grant(user=user, role="auditor")

    def _print_logins(self) -> None:
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. Logins (password for all: ")
            + demo.DEMO_PASSWORD
            + ")"
        )
        for spec in demo.USERS:
            self.stdout.write(f"  {spec.username:<7} {spec.story}")
        self.stdout.write("Directory (LDAP) sign-in, same password, on the sign-in form:")
        for person in demo.LDAP_PEOPLE:
            self.stdout.write(f"  {person.username:<7} {person.story}")
        self.stdout.write("Provider (OpenID Connect) sign-in, same password, with the button:")
        for person in demo.OIDC_PEOPLE:
            self.stdout.write(f"  {person.username:<7} {person.story}")


def _clock(domain_slug: str) -> dict:
    """The demo contract's clock for a domain's targets."""
    if domain_slug not in demo.WORKING_TIME_DOMAINS:
        return {"sla_clock": "calendar", "sla_decision": None}
    hours = timedelta(hours=demo.WORKING_DECISION_TARGET_HOURS)
    return {"sla_clock": "working", "sla_decision": hours}
