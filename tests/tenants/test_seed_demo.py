"""seed_demo builds the demo world, and running it again changes nothing."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from tenants import demo
from tenants.models import Allocation, CloudRegion, SecurityDomain, Site, Tenant
from tenants.selectors import DASHBOARD_ALLOCATIONS

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of every table the seed touches, as plain tuples."""
    labels = ["tenants", "auth", "guardian"]
    snapshot = {}
    for model in apps.get_models():
        if model._meta.app_label in labels:
            snapshot[model._meta.label] = sorted(
                tuple(str(v) for v in row) for row in model.objects.values_list()
            )
    return snapshot


def test_seed_builds_the_demo_world():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert Site.objects.count() == 5
    assert SecurityDomain.objects.count() == 3
    assert CloudRegion.objects.count() == 15
    assert Tenant.objects.count() >= 6
    assert Allocation.objects.count() == sum(len(v) for v in demo.ALLOCATIONS.values())


def test_seed_twice_changes_nothing():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _snapshot()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _snapshot() == first


def test_seed_prints_every_login(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert demo.DEMO_PASSWORD in out
    for spec in demo.USERS:
        assert spec.username in out


def _expected_tenants(spec: demo.DemoUser) -> set[str]:
    if spec.operator or spec.auditor:
        return {slug for _, slug, _, _ in demo.TENANTS}
    return set(spec.memberships)


def _expected_allocations(spec: demo.DemoUser) -> set[tuple[str, str]]:
    shorts = {slug: short for _, slug, short, *_ in demo.DOMAINS}
    visible = set()
    for tenant, regions in demo.ALLOCATIONS.items():
        for region in regions:
            if spec.operator or spec.auditor:
                visible.add((tenant, region))
                continue
            oversees = any(
                region == demo.region_slug(site, shorts[domain])
                for site in spec.sites
                for domain in spec.officer_of
            )
            if oversees:  # a security officer sees every tenant's objects in their domain
                visible.add((tenant, region))
                continue
            if tenant not in spec.memberships:
                continue
            if any(
                region == demo.region_slug(site, shorts[domain])
                for site in spec.sites
                for domain in spec.domains
            ):
                visible.add((tenant, region))
    return visible


@pytest.mark.parametrize("spec", demo.USERS, ids=lambda s: s.username)
def test_each_seeded_user_sees_exactly_their_tenants_and_allocations(client, spec):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    from django.contrib.auth import authenticate

    user = authenticate(username=spec.username, password=demo.DEMO_PASSWORD)
    assert user is not None
    client.force_login(user)  # with the second factor, for the roles that need one

    tenants = {t["slug"] for t in client.get("/api/v1/tenants/?page_size=100").json()["results"]}
    allocations = {
        (a["tenant"]["slug"], a["region"]["slug"])
        for a in client.get("/api/v1/allocations/?page_size=100").json()["results"]
    }
    dashboard = client.get(reverse("dashboard")).content.decode()

    assert tenants == _expected_tenants(spec)
    assert allocations == _expected_allocations(spec)
    # The dashboard shows every allocation the user sees while they are few, otherwise the
    # fullest of them; never one they may not see. Its totals count all they see.
    shown = set()
    for allocation in Allocation.objects.select_related("tenant", "region"):
        key = (allocation.tenant.slug, allocation.region.slug)
        if f'href="{allocation.get_absolute_url()}"' in dashboard:
            shown.add(key)
    assert shown <= allocations
    assert len(shown) == min(len(allocations), DASHBOARD_ALLOCATIONS)
    totals = re.findall(
        r'<tr><th scope="row">[^<]*</th><td>.*?</td><td>(\d+)</td>', dashboard, re.S
    )
    assert sum(map(int, totals)) == len(allocations)
