"""Every endpoint x role x object of another tenant, domain or site: 404, and nothing leaks.

The endpoints come from the URL conf, so an endpoint added under /api/v1/ without a line in the
tables below fails ``test_every_endpoint_is_in_the_matrix``; one line per endpoint then runs it
for every role against every forbidden object of its kind. Objects the caller can see but may not
act on answer 403 (the second table).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from portal.api.viewsets import IdempotentMixin
from provisioning.models import RequestState, ResourceRequest
from tests.api.endpoints import api_endpoints

pytestmark = pytest.mark.django_db

NOT_FOUND = {"message": "Not found.", "code": "not_found", "fields": {}}
#: A body that passes every action's own validation, so that only the lookup can refuse it.
ACTION_BODY = {
    "justification": "A justification that is long enough.",
    "flavor": "m1.small",
    "protocol": "tcp",
    "port_min": 22,
    "remote_cidr": "10.0.0.0/8",
    "rule": 1,
    "size_gb": 50,
    "server": 1,
    "volume": 1,
    "detach": True,
    "comment": "A comment that is long enough.",
    "reason": "A reason.",
}

# url name -> the forbidden objects of that endpoint's kind (one per dimension where it applies)
_requests = lambda w: [f.request for f in w.forbidden]  # noqa: E731
_servers = lambda w: [f.server for f in w.forbidden]  # noqa: E731
_networks = lambda w: [f.network for f in w.forbidden]  # noqa: E731
_volumes = lambda w: [f.volume for f in w.forbidden]  # noqa: E731
DETAIL: dict[str, Callable] = {
    "api:site-detail": lambda w: [w.other_site],
    "api:securitydomain-detail": lambda w: [w.other_domain],
    "api:cloudregion-detail": lambda w: [f.region for f in w.forbidden if f.label != "tenant"],
    "api:tenant-detail": lambda w: [w.other_tenant],
    "api:allocation-detail": lambda w: [f.allocation for f in w.forbidden],
    "api:flavor-detail": lambda w: [f.flavor for f in w.forbidden if f.flavor],
    "api:image-detail": lambda w: [f.image for f in w.forbidden if f.image],
    "api:resourcerequest-detail": _requests,
    "api:resourcerequest-approve": _requests,
    "api:resourcerequest-reject": _requests,
    "api:resourcerequest-cancel": _requests,
    "api:resourcerequest-retry": _requests,
    "api:server-detail": _servers,
    "api:server-start": _servers,
    "api:server-stop": _servers,
    "api:server-reboot": _servers,
    "api:server-decommission": _servers,
    "api:server-add-address": _servers,
    "api:server-resize": _servers,
    "api:server-release-address": _servers,
    "api:network-detail": _networks,
    "api:network-decommission": _networks,
    "api:securitygroup-detail": lambda w: [f.security_group for f in w.forbidden],
    "api:securitygroup-rules": lambda w: [f.security_group for f in w.forbidden],
    "api:securitygroup-close-rule": lambda w: [f.security_group for f in w.forbidden],
    "api:securitygroup-decommission": lambda w: [f.security_group for f in w.forbidden],
    "api:server-attach-volume": _servers,
    "api:volume-detail": _volumes,
    "api:volume-attach": _volumes,
    "api:volume-detach": _volumes,
    "api:volume-extend": _volumes,
    "api:volume-decommission": _volumes,
    "api:volumetype-detail": lambda w: [f.volume_type for f in w.forbidden if f.volume_type],
    "api:auditevent-detail": lambda w: [f.audit_event for f in w.forbidden],
    "api:token-detail": lambda w: [w.other_token],
    "api:ssh-key-detail": lambda w: [w.other_key],
    "api:incident-detail": lambda w: [f.incident for f in w.forbidden if f.incident],
    "api:delegation-detail": lambda w: [w.other_delegation],
    "api:delegation-end": lambda w: [w.other_delegation],
}
#: Personal objects: nobody but their owner reaches them, operators and auditors included.
PERSONAL = {"api:token-detail", "api:ssh-key-detail", "api:token-list", "api:ssh-key-list",
            "api:delegation-detail", "api:delegation-end", "api:delegation-list"}  # fmt: skip
LISTS = {
    "api:site-list",
    "api:securitydomain-list",
    "api:cloudregion-list",
    "api:tenant-list",
    "api:allocation-list",
    "api:membership-list",
    "api:offering-list",
    "api:flavor-list",
    "api:image-list",
    "api:resourcerequest-list",
    "api:approval-list",
    "api:server-list",
    "api:network-list",
    "api:securitygroup-list",
    "api:volume-list",
    "api:volumetype-list",
    "api:auditevent-list",
    "api:token-list",
    "api:ssh-key-list",
    "api:report-sla",  # rows per domain and the late requests: counted only if visible
    "api:report-sla-late",  # the late requests, paged: listed only if visible
    "api:report-showback",  # each tenant's consumption: only allocations in sight
    "api:incident-list",
    "api:cloud-status",
    "api:delegation-list",  # the regions one is entitled to, their probes and incidents
}
# POSTs on collections that name objects in their body: forbidden ids are refused without echo.
COLLECTION_POSTS = {
    "api:resourcerequest-list": lambda w: [
        *[
            {"kind": "network", "allocation": f.allocation.pk, **ACTION_BODY, "spec": {}}
            for f in w.forbidden
        ],
        *[{"kind": "server_stop", "target": f.server.pk, **ACTION_BODY} for f in w.forbidden],
        *[
            {"kind": "network_decommission", "target": f.network.pk, **ACTION_BODY}
            for f in w.forbidden
        ],
        *[
            {
                "kind": "volume",
                "allocation": f.allocation.pk,
                **ACTION_BODY,
                "spec": {"name": "vol", "size_gb": 1},
            }
            for f in w.forbidden
        ],
        *[{"kind": "volume_detach", "target": f.volume.pk, **ACTION_BODY} for f in w.forbidden],
    ],
    "api:approval-bulk-approve": lambda w: [{"ids": [f.request.pk for f in w.forbidden]}],
    "api:token-list": None,  # names no object: a token is always the caller's own
    "api:ssh-key-list": None,  # names no object: a key is always the caller's own
    # Naming someone out of the caller's tenants as delegate: refused, the name not echoed.
    "api:delegation-list": lambda w: [
        {
            "delegate": "forbidden-crimson-user",
            "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2030-01-02T00:00:00Z",
        }
    ],
}
# Routes that show no objects at all.
EXEMPT = {
    "api:api-root": "links to the collections only",
    "api:not-found": "the catch-all 404 for unknown paths",
    "api:health": "the portal's own state, no tenant's object: operators and auditors only, "
    "checked in tests/portal/test_health.py",
    "api:offering-detail": "templates are not secret (access_paths is empty); their regions are "
    "filtered, checked in test_offering_regions_are_filtered",
}
# url name -> (role, the object that role sees but may not act on, expected message fragment)
KNOWN_BUT_NOT_ALLOWED: dict[str, tuple[str, Callable, str]] = {
    "api:resourcerequest-approve": ("requester", lambda w: w.pending, "Four-eyes rule"),
    "api:resourcerequest-reject": ("requester", lambda w: w.pending, "Four-eyes rule"),
    "api:resourcerequest-cancel": ("viewer", lambda w: w.pending, "Only the requester"),
    "api:resourcerequest-retry": ("viewer", lambda w: w.pending, "Only the requester"),
    "api:server-start": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:server-stop": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:server-reboot": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:server-decommission": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:server-add-address": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:server-resize": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:server-release-address": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:network-decommission": ("viewer", lambda w: w.shop.low_net, "does not allow requests"),
    "api:securitygroup-rules": ("viewer", lambda w: w.security_group, "does not allow requests"),
    "api:securitygroup-close-rule": (
        "viewer",
        lambda w: w.security_group,
        "does not allow requests",
    ),
    "api:securitygroup-decommission": (
        "viewer",
        lambda w: w.security_group,
        "does not allow requests",
    ),
    "api:server-attach-volume": ("viewer", lambda w: w.server, "does not allow requests"),
    "api:volume-attach": ("viewer", lambda w: w.volume, "does not allow requests"),
    "api:volume-detach": ("viewer", lambda w: w.volume, "does not allow requests"),
    "api:volume-extend": ("viewer", lambda w: w.volume, "does not allow requests"),
    "api:volume-decommission": ("viewer", lambda w: w.volume, "does not allow requests"),
    "api:delegation-end": ("viewer", lambda w: w.delegation, "Only the person"),
}

ENDPOINTS = api_endpoints()


def _url(name: str, pk=None, fmt: str | None = None) -> str:
    kwargs = {} if pk is None else {"pk": pk}
    if fmt:
        kwargs["format"] = fmt
    return reverse(name, kwargs=kwargs)


def _call(client, method: str, url: str, body=None):
    return getattr(client, method.lower())(url, body, format="json")


def test_every_endpoint_is_in_the_matrix():
    covered = set(DETAIL) | LISTS | set(COLLECTION_POSTS) | set(EXEMPT)
    missing = sorted(set(ENDPOINTS) - covered)
    assert not missing, f"API endpoints without an access check in the matrix: {missing}"
    stale = sorted(covered - set(ENDPOINTS))
    assert not stale, f"Matrix lines for endpoints that no longer exist: {stale}"


def test_every_action_on_an_object_has_a_known_but_not_allowed_case():
    actions = {
        name for name, e in ENDPOINTS.items() if e.detail and "POST" in e.methods and name in DETAIL
    }
    assert actions == set(KNOWN_BUT_NOT_ALLOWED)


def test_every_post_is_idempotent():
    posting = [e for e in ENDPOINTS.values() if "POST" in e.methods]
    assert posting
    for endpoint in posting:
        assert issubclass(endpoint.view, IdempotentMixin), endpoint.name


@pytest.mark.parametrize("name", sorted(DETAIL))
def test_objects_out_of_reach_answer_404(api_world, client_for, name):
    endpoint = ENDPOINTS[name]
    objects = DETAIL[name](api_world)
    assert objects, f"the world has no forbidden object for {name}"
    pending_before = set(
        ResourceRequest.objects.filter(state=RequestState.PENDING_APPROVAL).values_list(
            "pk", flat=True
        )
    )
    count_before = ResourceRequest.objects.count()
    for role, user in api_world.roles.items():
        client = client_for(user)
        for obj in objects:
            for method in endpoint.methods:
                for fmt in (None, "json") if role == "viewer" else (None,):
                    response = _call(client, method, _url(name, obj.pk, fmt), ACTION_BODY)
                    where = f"{method} {name} #{obj.pk} as {role}"
                    assert response.status_code == 404, where
                    assert response.json() == NOT_FOUND, where
    assert ResourceRequest.objects.count() == count_before
    assert pending_before <= set(
        ResourceRequest.objects.filter(state=RequestState.PENDING_APPROVAL).values_list(
            "pk", flat=True
        )
    )
    if "GET" in endpoint.methods and name not in PERSONAL:
        # The control: the objects exist, and an operator reaches them.
        operator = client_for(api_world.operator)
        for obj in objects:
            assert operator.get(_url(name, obj.pk)).status_code == 200, name


@pytest.mark.parametrize("name", sorted(LISTS))
def test_lists_show_nothing_out_of_reach(api_world, client_for, name):
    for role, user in api_world.roles.items():
        response = client_for(user).get(_url(name), {"page_size": 500})
        assert response.status_code == 200, (name, role)
        assert b"forbidden" not in response.content.lower(), (name, role)
    # The control: the forbidden rows exist and an auditor lists them (tokens are personal).
    if name not in {"api:membership-list", "api:approval-list", *PERSONAL}:
        response = client_for(api_world.auditor).get(_url(name), {"page_size": 500})
        assert b"forbidden" in response.content.lower(), name


@pytest.mark.parametrize("name", sorted(n for n, b in COLLECTION_POSTS.items() if b))
def test_posts_naming_objects_out_of_reach_are_refused_without_echo(api_world, client_for, name):
    count_before = ResourceRequest.objects.count()
    for role, user in api_world.roles.items():
        client = client_for(user)
        for body in COLLECTION_POSTS[name](api_world):
            response = client.post(_url(name), body, format="json")
            assert response.status_code in (200, 400), (name, role, body)
            assert b"forbidden" not in response.content.lower(), (name, role, body)
            if response.status_code == 200:  # bulk: per-id outcomes
                outcomes = {r["outcome"] for r in response.json()["results"]}
                assert outcomes == {"Not found."}, (name, role)
            else:
                assert response.json()["code"] == "invalid"
    assert ResourceRequest.objects.count() == count_before
    assert all(f.request.state == RequestState.PENDING_APPROVAL for f in api_world.forbidden)


@pytest.mark.parametrize("name", sorted(KNOWN_BUT_NOT_ALLOWED))
def test_objects_in_sight_without_the_right_answer_403(api_world, client_for, name):
    role, target, fragment = KNOWN_BUT_NOT_ALLOWED[name]
    obj = target(api_world)
    count_before = ResourceRequest.objects.count()
    response = client_for(api_world.roles[role]).post(
        _url(name, obj.pk), ACTION_BODY, format="json"
    )
    assert response.status_code == 403, response.content
    body = response.json()
    assert fragment in body["message"]
    assert set(body) == {"message", "code", "fields"}
    assert ResourceRequest.objects.count() == count_before


def test_offering_regions_are_filtered(api_world, client_for):
    body = client_for(api_world.shop.requester).get(_url("api:offering-list")).json()
    (offering,) = body["results"]
    assert sorted(offering["regions"]) == sorted(
        [api_world.shop.low.region.slug, api_world.shop.high.region.slug]
    )
    detail = client_for(api_world.stranger).get(_url("api:offering-detail", offering["id"]))
    assert b"forbidden" not in detail.content.lower()


@pytest.mark.parametrize("name", sorted(set(KNOWN_BUT_NOT_ALLOWED) - PERSONAL))
def test_auditors_see_everything_and_act_on_nothing(api_world, client_for, name):
    auditor = client_for(api_world.auditor)
    count_before = ResourceRequest.objects.count()
    for forbidden in api_world.forbidden:
        model = name.split(":")[1].split("-")[0]
        obj = {
            "resourcerequest": forbidden.request,
            "server": forbidden.server,
            "network": forbidden.network,
            "securitygroup": forbidden.security_group,
            "volume": forbidden.volume,
        }[model]
        detail = f"api:{model}-detail"
        assert auditor.get(_url(detail, obj.pk)).status_code == 200
        response = auditor.post(_url(name, obj.pk), ACTION_BODY, format="json")
        assert response.status_code == 403, (name, forbidden.label, response.content)
        assert set(response.json()) == {"message", "code", "fields"}
    assert ResourceRequest.objects.count() == count_before
