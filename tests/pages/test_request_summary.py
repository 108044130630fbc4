"""The inbox card's summary built in Python (``request_summary``) says what the template it
replaces said (``reference/request_summary.html``), for every kind of request: in each language,
with specs complete, sparse or hostile, escaped."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from provisioning.models import Kind, ResourceRequest
from provisioning.templatetags.request_summary import request_summary

pytestmark = pytest.mark.django_db

REFERENCE = Template((Path(__file__).parent / "reference" / "request_summary.html").read_text())
EVIL = '<img src=x onerror=alert(1)>"&'

#: (kind, spec) for every branch of the summary, and the ones that fall to "kind of title".
SPECS = [
    (Kind.SERVER, {"name": "web", "count": 3, "flavor": "m1.small", "image": "debian-12",
                   "offering": "gold", "networks": [{"name": "net-a"}, {"name": EVIL}],
                   "ssh_key": {"fingerprint": "SHA256:ab<c"}, "boot_volume_gb": 40}),
    (Kind.SERVER, {"name": EVIL, "flavor": EVIL, "image": EVIL}),
    (Kind.SERVER, {"name": "sparse"}),
    (Kind.SERVER, {"name": "odd", "ssh_key": "not a mapping", "networks": [{}], "count": 0}),
    (Kind.NETWORK, {"name": "net", "cidr": "10.0.0.0/24", "router": True}),
    (Kind.NETWORK, {"name": "net", "cidr": EVIL}),
    (Kind.SERVER_RESIZE, {"name": "db", "from_flavor": "m1.small", "from_vcpus": 2,
                          "from_ram_mb": 2048, "flavor": "m1.large", "vcpus": 8,
                          "ram_mb": 16384}),
    (Kind.SECURITY_GROUP_RULE, {"name": "web", "sentence": "Allow TCP 443 from 0.0.0.0/0",
                                "description": EVIL,
                                "affects": {"count": 5, "names": ["a", EVIL, "c"]}}),
    (Kind.SECURITY_GROUP_RULE, {"name": "web", "sentence": "Allow TCP 22",
                                "affects": {"count": 1, "names": ["only"]}}),
    (Kind.SECURITY_GROUP_RULE, {"name": "web", "sentence": "Allow UDP 53",
                                "affects": {"count": 0, "names": []}}),
    (Kind.SECURITY_GROUP_RULE, {"name": "web"}),
    (Kind.SECURITY_GROUP_RULE_REMOVE, {"name": "web", "sentence": EVIL}),
    (Kind.VOLUME, {"name": "data", "size_gb": 100, "volume_type": "ssd",
                   "description": "for the archive"}),
    (Kind.VOLUME, {"name": EVIL, "size_gb": 1}),
    (Kind.VOLUME_ATTACH, {"name": "data", "sentence": "Attach data to web"}),
    (Kind.VOLUME_DETACH, {"name": "data"}),
    (Kind.VOLUME_EXTEND, {"name": "data", "sentence": EVIL}),
    (Kind.VOLUME_DECOMMISSION, {"target": "data"}),
    (Kind.QUOTA_CHANGE, {"name": "Blue Unit · Mons", "limits": {"vcpus": 40, "ram_mb": 81920},
                         "from": {"vcpus": 20, "ram_mb": 40960},
                         "used": {"vcpus": 12, "ram_mb": 20480}}),
    (Kind.QUOTA_CHANGE, {"limits": {"instances": 12}}),
    (Kind.LEASE_EXTEND, {"name": "web", "from_lease_end": "2026-12-01T10:00:00+00:00",
                         "lease_end": "2027-01-01T23:30:00+00:00"}),
    (Kind.LEASE_EXTEND, {"name": "web"}),
    (Kind.SECURITY_GROUP, {"name": "web", "description": EVIL}),
    (Kind.SECURITY_GROUP, {"name": "web"}),
    (Kind.SERVER_STOP, {"name": "web"}),
    (Kind.SERVER_ADDRESS_ADD, {"target": EVIL}),
    (Kind.NETWORK_DECOMMISSION, {}),
]  # fmt: skip


def same(html: str) -> str:
    """Markup with the whitespace a browser does not show left out: between tags, and at the
    end of a definition or list item (the template's branches ended with a line break)."""
    html = re.sub(r"\s+", " ", str(html))
    return re.sub(r">\s+<", "><", re.sub(r"\s+</(dd|li)>", r"</\1>", html)).strip()


def asked(shop, kind, spec) -> ResourceRequest:
    return ResourceRequest(
        kind=kind, spec=spec, allocation=shop.high, requester=shop.requester,
        justification=f"Because {EVIL}", created_at=timezone.now() - timedelta(hours=50),
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en-gb", "fr"])
@pytest.mark.parametrize(("kind", "spec"), SPECS)
def test_summary_is_what_the_template_rendered(shop, language, kind, spec):
    request = asked(shop, kind, spec)
    with translation.override(language), timezone.override("Pacific/Chatham"):
        expected = REFERENCE.render(Context({"r": request}))
        built = request_summary(request)
    assert same(built) == same(expected)
    assert "<img" not in expected and "<img" not in built


def test_the_words_are_french_in_french(shop):
    spec = {
        "name": "web",
        "sentence": "Allow TCP 443",
        "affects": {"count": 2, "names": ["a", "b"]},
    }
    request = asked(shop, Kind.SECURITY_GROUP_RULE, spec)
    with translation.override("fr"):
        built = request_summary(request)
    assert "Demandé par" in built and "dans le groupe" in built and "serveurs" in built


def test_a_requester_is_shown_by_name_and_when_in_the_readers_zone(shop):
    shop.requester.first_name, shop.requester.last_name = "Rita", "Reyes"
    request = asked(shop, Kind.NETWORK, {"cidr": "10.0.0.0/24"})
    request.created_at = timezone.now().replace(
        year=2026, month=6, day=1, hour=12, minute=0, second=0, microsecond=0
    )
    with timezone.override("Europe/Brussels"):
        built = request_summary(request)
    assert "Rita Reyes" in built and 'datetime="2026-06-01T14:00:00+02:00"' in built


def test_a_resize_without_its_sizes_shows_dashes(shop):
    """The template failed on it (the page answered 500)."""
    built = request_summary(asked(shop, Kind.SERVER_RESIZE, {"name": "db"}))
    assert "Resize db from <code></code> ( vCPU, —) to <code></code> ( vCPU, —)" in built
