"""Server and network pages: search, filters, sorting, pagination, detail, day-2 actions."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit import audit_record
from provisioning.models import Kind, RequestState, ResourceRequest, Server
from tenants import services
from tests.factories import NetworkFactory, make_user
from tests.pages.conftest import make_server

pytestmark = pytest.mark.django_db
WHY = "Maintenance window agreed with the users."


def get(client, user, name, *args, **params):
    client.force_login(user)
    response = client.get(reverse(name, args=args), params)
    return response, response.content.decode()


@pytest.fixture
def servers(shop):
    return {
        "alpha": make_server(shop.low, "alpha", status="ACTIVE"),
        "bravo": make_server(shop.low, "bravo", status="SHUTOFF"),
        "charlie": make_server(shop.high, "charlie", status="ACTIVE"),
    }


def names_in_order(page, names):
    return sorted(names, key=lambda n: page.index(f">{n}</a>"))


def test_server_list_search_filters_and_badges(client, shop, servers):
    _, page = get(client, shop.requester, "server-list")
    assert all(f">{n}</a>" in page for n in servers)
    assert page.count('class="domain-badge marking-') >= 3
    assert 'aria-label="Classification: SECRET"' in page

    _, page = get(client, shop.requester, "server-list", q="rav")
    assert ">bravo</a>" in page and ">alpha</a>" not in page
    _, page = get(client, shop.requester, "server-list", domain="secret")
    assert ">charlie</a>" in page and ">alpha</a>" not in page
    _, page = get(client, shop.requester, "server-list", status="shutoff")
    assert ">bravo</a>" in page and ">charlie</a>" not in page
    _, page = get(client, shop.requester, "server-list", tenant="blue", site="mons")
    assert all(f">{n}</a>" in page for n in servers)
    _, page = get(client, shop.requester, "server-list", q="nothing-like-it")
    assert "No server matches this search" in page


def test_server_list_sorts_by_clicked_column(client, shop, servers):
    _, page = get(client, shop.requester, "server-list")
    assert names_in_order(page, servers) == ["alpha", "bravo", "charlie"]
    assert 'aria-sort="ascending"><a class="sort" href="?sort=-name"' in page
    _, page = get(client, shop.requester, "server-list", sort="-name")
    assert names_in_order(page, servers) == ["charlie", "bravo", "alpha"]
    _, page = get(client, shop.requester, "server-list", sort="-domain")
    assert names_in_order(page, servers)[0] == "charlie"
    _, page = get(client, shop.requester, "server-list", sort="status", status="active")
    assert 'aria-sort="ascending"><a class="sort" href="?sort=-status&amp;status=active"' in page
    # An unknown column falls back to the name.
    response, page = get(client, shop.requester, "server-list", sort="password")
    assert response.status_code == 200 and names_in_order(page, servers)[0] == "alpha"


def test_pagination_keeps_the_filters(client, shop):
    for i in range(30):
        make_server(shop.low, f"s{i:02d}")
    _, page = get(client, shop.requester, "server-list", domain="unclass", sort="-name")
    assert "30 in all" in page
    link = r'href="\?domain=unclass&amp;sort=-name&amp;cursor=([^"]+)" rel="next"'
    cursor = re.search(link, page)
    assert cursor, page
    _, page = get(client, shop.requester, "server-list", domain="unclass", sort="-name",
                  cursor=cursor[1])  # fmt: skip
    assert ">s00</a>" in page and ">s29</a>" not in page
    assert 'href="?domain=unclass&amp;sort=-name">First' in page  # the filters, no cursor
    # A cursor edited by hand shows the first page, not an error.
    response, page = get(client, shop.requester, "server-list", cursor="garbage")
    assert response.status_code == 200 and ">s00</a>" in page


def test_related_columns_sort_once_the_list_is_narrowed(client, shop, settings):
    for i in range(6):
        make_server(shop.low, f"s{i:02d}")
    settings.PORTAL_LIST_COUNT_CAP = 5
    _, page = get(client, shop.requester, "server-list", sort="-tenant")
    assert "5+ in all" in page
    assert 'href="?sort=tenant' not in page and 'title="Filter the list to sort' in page
    # The list falls back to the name order.
    assert names_in_order(page, ["s03", "s00", "s02", "s01"]) == ["s00", "s01", "s02", "s03"]
    settings.PORTAL_LIST_COUNT_CAP = 10
    _, page = get(client, shop.requester, "server-list", sort="-tenant")
    assert 'aria-sort="descending"><a class="sort" href="?sort=tenant"' in page


def test_empty_lists_say_what_to_do(client, shop, stranger):
    _, page = get(client, stranger, "server-list")
    assert "No servers you can see yet" in page
    _, page = get(client, stranger, "network-list")
    assert "No networks you can see yet" in page


def test_network_list_filters_and_sorts(client, shop):
    NetworkFactory(allocation=shop.low, name="zulu", cidr="10.9.0.0/24")
    _, page = get(client, shop.requester, "network-list", sort="-cidr")
    names = [shop.low_net.name, shop.high_net.name, "zulu"]
    assert names_in_order(page, names) == ["zulu", shop.high_net.name, shop.low_net.name]
    _, page = get(client, shop.requester, "network-list", domain="secret")
    assert f">{shop.high_net.name}</a>" in page and ">zulu</a>" not in page


def test_server_detail_shows_facts_origin_and_audit_trail(client, shop, servers):
    server = servers["alpha"]
    origin = ResourceRequest.objects.create(
        kind=Kind.SERVER, allocation=shop.low, requester=shop.requester, justification=WHY,
        spec={"name": "alpha"},
    )  # fmt: skip
    Server.objects.filter(pk=server.pk).update(
        origin_request=origin, addresses=[{"address": "10.1.0.7", "network": "net"}]
    )
    server.networks.add(shop.low_net)
    audit_record(actor=None, action="server.create", obj=server, after={"status": "ACTIVE"},
                 tenant=shop.tenant, region=shop.low.region)  # fmt: skip
    audit_record(actor=None, action="server.change", obj=server, tenant=shop.tenant,
                 region=shop.low.region, before={"status": "ACTIVE", "addresses": []},
                 after={"status": "SHUTOFF", "addresses": [{"address": "10.1.0.7",
                                                            "type": "fixed"}]})  # fmt: skip
    _, page = get(client, shop.requester, "server-detail", server.pk)
    assert "10.1.0.7" in page and "m1.small" in page
    assert origin.get_absolute_url() in page
    assert "server.create" in page
    # Each change reads as a row of field, before, after: never a raw dict or list.
    assert re.search(r'<th scope="row">status</th><td class="wrap">—</td>'
                     r'<td class="wrap">ACTIVE</td>', page)  # fmt: skip
    assert re.search(r'<th scope="row">status</th><td class="wrap">ACTIVE</td>'
                     r'<td class="wrap">SHUTOFF</td>', page)  # fmt: skip
    assert re.search(
        r"<td class=\"wrap\">(address: 10\.1\.0\.7; type: fixed|"
        r"type: fixed; address: 10\.1\.0\.7)</td>",
        page,
    )  # any key order
    assert "{&#x27;" not in page and "[{" not in page
    assert shop.low_net.get_absolute_url() in page
    # Actions that make sense for an ACTIVE server.
    for action in ("stop", "reboot", "decommission"):
        assert reverse("server-action", args=[server.pk, action]) in page
    assert reverse("server-action", args=[server.pk, "start"]) not in page


def test_details_and_actions_of_out_of_reach_objects_answer_404(
    client, shop, servers, stranger, low_only
):
    secret = servers["charlie"]
    for user in (stranger, low_only):
        client.force_login(user)
        for url in (
            reverse("server-detail", args=[secret.pk]),
            reverse("server-action", args=[secret.pk, "stop"]),
            reverse("network-detail", args=[shop.high_net.pk]),
            reverse("network-action", args=[shop.high_net.pk, "decommission"]),
        ):
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"justification": WHY}).status_code in (404, 405), url
    assert not ResourceRequest.objects.exists()
    client.force_login(shop.requester)
    assert client.get(reverse("server-action", args=[secret.pk, "explode"])).status_code == 404


def test_unclassified_only_user_never_sees_a_secret_row(client, shop, servers, low_only):
    for name in ("server-list", "network-list"):
        _, page = get(client, low_only, name)
        assert "SECRET" not in page and ">charlie</a>" not in page
        assert shop.high_net.name not in page


def test_stop_is_confirmed_then_filed_and_shown(client, shop, servers):
    server = servers["alpha"]
    url = reverse("server-action", args=[server.pk, "stop"])
    _, panel = get(client, shop.requester, "server-action", server.pk, "stop")
    assert 'name="justification"' in panel and "Stop alpha?" in panel
    htmx_panel = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert not htmx_panel.lstrip().startswith("<!doctype") and "Stop alpha?" in htmx_panel

    response = client.post(url, {"justification": WHY})
    filed = ResourceRequest.objects.get()
    assert response.status_code == 302 and response.url == filed.get_absolute_url()
    assert (filed.kind, filed.target_server, filed.requester) == (
        Kind.SERVER_STOP, server, shop.requester,
    )  # fmt: skip
    assert filed.state == RequestState.APPROVED  # power actions pass by policy

    # A second action while the first is in flight: the service's reason, shown clearly.
    response = client.post(reverse("server-action", args=[server.pk, "reboot"]),
                           {"justification": WHY})  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in page and f"already has a request in progress (#{filed.pk})" in page
    _, detail = get(client, shop.requester, "server-detail", server.pk)
    assert f'Request <a href="{filed.get_absolute_url()}">#{filed.pk}' in detail


def test_justification_is_required(client, shop, servers):
    client.force_login(shop.requester)
    url = reverse("server-action", args=[servers["alpha"].pk, "decommission"])
    page = client.post(url, {"justification": "no"}).content.decode()
    assert 'id="justification-error"' in page and 'aria-invalid="true"' in page
    assert not ResourceRequest.objects.exists()


def test_network_decommission_refused_while_servers_use_it(client, shop, servers):
    servers["alpha"].networks.add(shop.low_net)
    client.force_login(shop.requester)
    url = reverse("network-action", args=[shop.low_net.pk, "decommission"])
    page = client.post(url, {"justification": WHY}).content.decode()
    assert f"Servers still use {shop.low_net.name}: alpha" in page
    servers["alpha"].networks.clear()
    response = client.post(url, {"justification": WHY})
    filed = ResourceRequest.objects.get()
    assert response.url == filed.get_absolute_url()
    assert (filed.kind, filed.target_network) == (Kind.NETWORK_DECOMMISSION, shop.low_net)


def test_viewers_get_no_action_buttons(client, shop, servers):
    from tests.factories import make_user

    viewer = make_user("vera", memberships={shop.tenant: "viewer"}, domains=(shop.unclass,),
                       sites=(shop.site,))  # fmt: skip
    _, page = get(client, viewer, "server-detail", servers["alpha"].pk)
    assert "does not allow requests" in page
    assert reverse("server-action", args=[servers["alpha"].pk, "stop"]) not in page


def test_action_pages_are_refused_up_front_with_the_right_advice(client, shop, servers):
    """Who may not file the request is told so, and what to do, before any form."""
    from tests.factories import make_portal_role

    auditor = make_portal_role("aude", "audit_portal")
    viewer = make_user("vera", memberships={shop.tenant: "viewer"}, domains=(shop.unclass,),
                       sites=(shop.site,))  # fmt: skip
    member_not_cleared = make_user("nico", memberships={shop.tenant: "requester"},
                                   domains=(shop.secret,), sites=(shop.site,))  # fmt: skip
    services.security_officer_grant(grantee=shop.officer, domain=shop.unclass)
    alpha = servers["alpha"]
    cases = [
        (auditor, "Auditors see everything and change nothing"),
        (viewer, "does not allow requests; ask its manager for the requester role"),
        (member_not_cleared, None),  # cannot even see the unclassified server: 404
        (shop.officer, "filed by its members; you are not one"),
    ]
    for user, advice in cases:
        response, page = get(client, user, "server-action", alpha.pk, "stop")
        if advice is None:
            assert response.status_code == 404
            continue
        assert response.status_code == 403, (user, page[:300])
        assert advice in page and 'name="justification"' not in page
        assert client.post(reverse("server-action", args=[alpha.pk, "stop"]),
                           {"justification": "x" * 30}).status_code == 403  # fmt: skip
        _, detail = get(client, user, "server-detail", alpha.pk)
        assert advice in detail
    assert not ResourceRequest.objects.filter(kind=Kind.SERVER_STOP).exists()


@pytest.mark.parametrize("name", ["server-list", "network-list"])
def test_list_queries_do_not_grow_with_rows(client, shop, name):
    def count(n):
        for i in range(n - Server.objects.count()):
            make_server(shop.low if i % 2 else shop.high, f"q{Server.objects.count()}")
            NetworkFactory(allocation=shop.low if i % 2 else shop.high)
        client.force_login(shop.requester)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(name))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    assert count(10) == count(60)


def test_the_external_address_is_offered_shown_and_released_as_the_domain_allows(client, shop):
    from provisioning.models import FloatingIp

    shop.low_net.router_id = "router-1"
    shop.low_net.save(update_fields=["router_id"])
    server = make_server(shop.low, "reachable")
    server.networks.set([shop.low_net])
    client.force_login(shop.requester)
    url = server.get_absolute_url()
    page = client.get(url).content.decode()
    assert "Add an external address" in page and "Release the external address" not in page

    action = reverse("server-action", args=[server.pk, "add-address"])
    filed = client.post(action, {"justification": "Reachable from the agency network."})
    request = ResourceRequest.objects.get(target_server=server)
    assert filed.status_code == 302 and filed.url == request.get_absolute_url()
    assert (request.kind, request.floating_ips) == (Kind.SERVER_ADDRESS_ADD, 1)
    request.delete()

    FloatingIp.objects.create(
        allocation=shop.low, server=server, name="172.24.4.20", address="172.24.4.20",
        backend_id="fip-20", tag="t",
    )  # fmt: skip
    page = client.get(url).content.decode()
    assert "<code>172.24.4.20</code>" in page
    assert "Release the external address" in page and "Add an external address" not in page
    twice = client.post(action, {"justification": "Reachable from the agency network."})
    assert twice.status_code == 400
    assert "already has the external address 172.24.4.20" in twice.content.decode()

    shop.unclass.external_addresses = "forbid"
    shop.unclass.save()
    FloatingIp.objects.update(deleted_at=server.created_at)
    page = client.get(url).content.decode()
    assert "Add an external address" not in page
    assert "Unclassified does not allow them" in page
    refused = client.post(action, {"justification": "Reachable from the agency network."})
    assert refused.status_code == 400
    assert "does not allow external addresses" in refused.content.decode()


def test_security_group_pages_show_rules_in_words_drift_and_file_a_rule(client, shop):
    from provisioning.models import SecurityGroup, SecurityGroupRule

    group = SecurityGroup.objects.create(
        allocation=shop.low, name="web", backend_id="sg-web", tag="t", description="Web tier",
        drift=[{"kind": "found", "id": "r-9", "opens": "Opens TCP port 3306 (MySQL) inbound "
                "from anywhere"}],
    )  # fmt: skip
    SecurityGroupRule.objects.create(
        group=group, direction="ingress", protocol="tcp", port_min=443, port_max=443,
        remote_cidr="0.0.0.0/0", description="public site",
    )  # fmt: skip
    server = make_server(shop.low, "web-1")
    server.security_groups.add(group)
    client.force_login(shop.requester)
    listing = client.get(reverse("security-group-list")).content.decode()
    assert group.get_absolute_url() in listing and "1 difference" in listing
    page = client.get(group.get_absolute_url()).content.decode()
    assert "Opens TCP port 443 (HTTPS) inbound from anywhere" in page
    assert "Found in the cloud, never requested: Opens TCP port 3306 (MySQL)" in page
    assert server.get_absolute_url() in page and "Open a firewall rule" in page

    url = reverse("security-group-action", args=[group.pk, "open-rule"])
    panel = client.get(url).content.decode()
    assert 'name="remote_cidr"' in panel and '<option value="tcp" selected>' in panel
    bad = client.post(url, {"justification": WHY, "protocol": "tcp", "port_min": "80",
                            "port_max": "22", "remote_cidr": "10.0.0.0/8"})  # fmt: skip
    assert bad.status_code == 400 and "ends before it starts (80-22)" in bad.content.decode()
    same = client.post(url, {"justification": WHY, "protocol": "tcp", "port_min": "443",
                             "remote_cidr": "0.0.0.0/0"})  # fmt: skip
    assert same.status_code == 400 and "web already has this rule" in same.content.decode()
    filed = client.post(url, {"justification": WHY, "protocol": "tcp", "port_min": "22",
                              "remote_cidr": "10.10.0.0/16", "description": "admins"})  # fmt: skip
    request = ResourceRequest.objects.get(kind=Kind.SECURITY_GROUP_RULE)
    assert filed.status_code == 302 and filed.url == request.get_absolute_url()
    detail = client.get(request.get_absolute_url()).content.decode()
    assert "<strong>Opens TCP port 22 (SSH) inbound from 10.10.0.0/16</strong>" in detail
    assert "1 server when requested: web-1" in detail
    client.force_login(shop.approver)
    inbox = client.get(reverse("approval-inbox")).content.decode()
    assert "Opens TCP port 22 (SSH) inbound from 10.10.0.0/16" in inbox
    assert "affects 1 server: web-1" in inbox
    server_page = client.get(server.get_absolute_url()).content.decode()
    assert f'<a href="{group.get_absolute_url()}">web</a>' in server_page

    client.force_login(shop.requester)
    rule = group.rules.get()
    close = reverse("security-group-action", args=[group.pk, "close-rule"])
    assert f"{close}?rule={rule.pk}" in client.get(group.get_absolute_url()).content.decode()
    confirm = client.get(close, {"rule": rule.pk}).content.decode()
    assert "<strong>Opens TCP port 443 (HTTPS) inbound from anywhere</strong>" in confirm
    filed = client.post(close, {"rule": rule.pk, "justification": WHY})
    closing = ResourceRequest.objects.get(kind=Kind.SECURITY_GROUP_RULE_REMOVE)
    assert filed.url == closing.get_absolute_url()
    again = client.post(close, {"rule": rule.pk, "justification": WHY})
    assert f"Request #{closing.pk} is already closing this rule." in again.content.decode()


def test_a_security_group_is_requested_with_a_plan(client, shop):
    client.force_login(shop.requester)
    url = reverse("request-create-security-group")
    form = {"allocation": shop.low.pk, "name": "db", "description": "Database tier",
            "justification": WHY}  # fmt: skip
    plan = client.post(url, {**form, "action": "plan"}).content.decode()
    assert "Database tier" in plan and "Submit request" in plan
    done = client.post(url, {**form, "action": "submit"})
    request = ResourceRequest.objects.get(kind=Kind.SECURITY_GROUP)
    assert done.url == request.get_absolute_url()
    assert request.spec == {"name": "db", "description": "Database tier"}


def test_volume_pages_list_attach_extend_and_refuse_deleting_one_in_use(client, shop, servers):
    from provisioning.models import Volume, VolumeType

    VolumeType.objects.create(region=shop.low.region, backend_id="t-1", name="ssd")
    data = Volume.objects.create(
        allocation=shop.low, name="data", backend_id="vol-data", tag="t", size_gb=20,
        status="in-use", server=servers["alpha"], device="/dev/vdb", volume_type="ssd",
    )  # fmt: skip
    spare = Volume.objects.create(
        allocation=shop.low, name="spare", backend_id="vol-spare", tag="t", size_gb=5,
        status="available",
    )  # fmt: skip
    secret = Volume.objects.create(
        allocation=shop.high, name="classified", backend_id="vol-s", tag="t", size_gb=1,
        status="available",
    )  # fmt: skip
    _, listing = get(client, shop.requester, "volume-list", status="in-use")
    assert data.get_absolute_url() in listing and spare.get_absolute_url() not in listing
    assert "/dev/vdb" in listing and servers["alpha"].get_absolute_url() in listing

    # The server's page shows what is attached and offers the spare one.
    server_page = client.get(servers["alpha"].get_absolute_url()).content.decode()
    assert f'<a href="{data.get_absolute_url()}">data</a> 20 GB as <code>/dev/vdb</code>' in (
        server_page
    )
    attach_here = reverse("server-action", args=[servers["alpha"].pk, "attach-volume"])
    panel = client.get(attach_here).content.decode()
    assert f'<option value="{spare.pk}">spare (5 GB)</option>' in panel
    assert "data (20 GB" not in panel  # attached already: not offered
    wrong = client.post(attach_here, {"volume": secret.pk, "justification": WHY})
    assert wrong.status_code == 400
    assert "Choose a volume of this tenant in this region." in wrong.content.decode()
    filed = client.post(attach_here, {"volume": spare.pk, "justification": WHY})
    attach = ResourceRequest.objects.get(kind=Kind.VOLUME_ATTACH)
    assert filed.url == attach.get_absolute_url() and attach.target_volume == spare
    assert "<strong>Attach spare (5 GB) to alpha</strong>" in client.get(filed.url).content.decode()

    # Deleting an attached volume is refused on the field, unless detaching first is ticked.
    page = client.get(data.get_absolute_url()).content.decode()
    assert "Detach" in page and "Extend" not in page
    gone = reverse("volume-action", args=[data.pk, "decommission"])
    confirm = client.get(gone).content.decode()
    assert 'name="detach"' in confirm and "and all the data on it" in confirm
    refused = client.post(gone, {"justification": WHY})
    assert refused.status_code == 400
    assert "it is not deleted while a server uses it" in refused.content.decode()
    assert client.post(gone, {"justification": WHY, "detach": "on"}).status_code == 302
    decommission = ResourceRequest.objects.get(kind=Kind.VOLUME_DECOMMISSION)
    assert decommission.spec["detach_from"]["name"] == "alpha"

    # Extending: larger only, with the reason on the field.
    services_volume = Volume.objects.create(
        allocation=shop.low, name="logs", backend_id="vol-logs", tag="t", size_gb=10,
        status="available",
    )  # fmt: skip
    extend = reverse("volume-action", args=[services_volume.pk, "extend"])
    small = client.post(extend, {"justification": WHY, "size_gb": "8"})
    assert "holds 10 GB already" in small.content.decode()
    assert client.post(extend, {"justification": WHY, "size_gb": "15"}).status_code == 302
    assert ResourceRequest.objects.get(kind=Kind.VOLUME_EXTEND).gigabytes == 5

    # Out of reach is not found, by page and by action.
    low_only = make_user("una", memberships={shop.tenant: "requester"},
                         domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    client.force_login(low_only)
    assert client.get(secret.get_absolute_url()).status_code == 404
    assert client.get(reverse("volume-action", args=[secret.pk, "extend"])).status_code == 404
    assert ">classified</a>" not in client.get(reverse("volume-list")).content.decode()
    client.force_login(shop.requester)
    assert ">classified</a>" in client.get(reverse("volume-list")).content.decode()


def test_a_volume_is_requested_with_a_plan(client, shop):
    from provisioning.models import VolumeType

    VolumeType.objects.create(region=shop.low.region, backend_id="t-1", name="ssd",
                              description="Fast", max_size_gb=50)  # fmt: skip
    client.force_login(shop.requester)
    url = reverse("request-create-volume")
    form = {"allocation": shop.low.pk, "name": "pgdata", "size_gb": "60", "volume_type": "ssd",
            "justification": WHY}  # fmt: skip
    fields = client.post(url, {"allocation": shop.low.pk, "action": "refresh"}).content.decode()
    assert '<option value="ssd">ssd: Fast</option>' in fields
    too_big = client.post(url, {**form, "action": "plan"}).content.decode()
    assert "A volume of type ssd holds at most 50 GB." in too_big
    plan = client.post(url, {**form, "size_gb": "40", "action": "plan"}).content.decode()
    assert "pgdata: 40 GB" in plan and "Volume storage" in plan and "+40" in plan
    preview = client.post(reverse("request-preview-volume"), {**form, "size_gb": "40"})
    assert "+40" in preview.content.decode()
    done = client.post(url, {**form, "size_gb": "40", "action": "submit"})
    request = ResourceRequest.objects.get(kind=Kind.VOLUME)
    assert done.url == request.get_absolute_url()
    assert (request.volumes, request.gigabytes, request.spec["volume_type"]) == (1, 40, "ssd")


def test_an_action_page_leads_back_to_the_list_of_its_kind(client, shop, servers):
    from provisioning.models import SecurityGroup, Volume

    group = SecurityGroup.objects.create(allocation=shop.low, name="web", backend_id="g", tag="t")
    volume = Volume.objects.create(allocation=shop.low, name="data", backend_id="v", tag="t",
                                   size_gb=1, status="available")  # fmt: skip
    client.force_login(shop.requester)
    for name, obj, action, listing in (
        ("server-action", servers["alpha"], "stop", "server-list"),
        ("network-action", shop.low_net, "decommission", "network-list"),
        ("security-group-action", group, "decommission", "security-group-list"),
        ("volume-action", volume, "extend", "volume-list"),
    ):
        page = client.get(reverse(name, args=[obj.pk, action])).content.decode()
        assert (
            f'<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="{reverse(listing)}">'
            in (page)
        ), name
