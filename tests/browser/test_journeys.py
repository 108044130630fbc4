"""Journeys through the portal in a real browser: request, approve, build, reject, quota."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from provisioning import services
from provisioning.models import Kind, Orphan, RequestState, ResourceRequest, Server
from tenants import services as tenancy
from tests.browser.conftest import BUILD_TIMEOUT, WHY, screenshot
from tests.factories import make_portal_role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def fill_vm_form(page: Page, world, *, name: str = "web", count: int = 1) -> None:
    page.goto(reverse("request-create-server"))
    page.get_by_label("Allocation").select_option(str(world.allocation.pk))
    # Choosing the allocation reloads the fields that depend on it (offerings, networks).
    networks = page.get_by_role("group", name="Networks")
    expect(networks.get_by_role("checkbox", name=re.compile(world.network.name))).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Offering").select_option(label=world.offering.name)
    networks.get_by_role("checkbox", name=re.compile(world.network.name)).check()
    page.get_by_label("Count").fill(str(count))
    page.get_by_label("Justification").fill(WHY)


def request_id(page: Page) -> int:
    return int(re.search(r"/requests/(\d+)/", page.url).group(1))


def test_vm_request_approved_in_the_inbox_is_built_without_a_reload(open_as, storefront):
    world = storefront
    requester = open_as(world.requester, "/")
    expect(requester.get_by_role("heading", name="Dashboard")).to_be_visible()
    screenshot(requester, "dashboard")

    fill_vm_form(requester, world, name="web")
    if os.environ.get("PORTAL_SCREENSHOTS"):
        requester.get_by_label("Justification").blur()  # the quota preview follows changes
        requester.locator("#quota-preview table").wait_for()
    screenshot(requester, "vm-form")
    requester.get_by_role("button", name="Plan").click()
    expect(requester.get_by_role("heading", name=re.compile("^Plan"))).to_be_visible()
    screenshot(requester, "plan")
    requester.get_by_role("button", name="Submit request").click()
    expect(requester.locator("#request-state")).to_have_text("Pending approval")
    pk = request_id(requester)
    requester.evaluate("window.notReloaded = true")

    approver = open_as(world.approver, reverse("approval-inbox"))
    row = approver.locator(f"#request-{pk}")
    expect(row).to_contain_text("m1.tiny")
    expect(row.get_by_role("table")).to_contain_text("vCPUs")
    screenshot(approver, "inbox")
    row.get_by_role("button", name=f"Approve #{pk}").click()
    expect(approver.locator(f"#request-{pk}")).to_contain_text("approved; it is being built")
    expect(approver.locator(f"#request-{pk}")).to_be_focused()

    expect(requester.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)
    assert requester.evaluate("window.notReloaded") is True  # htmx polled, no reload
    screenshot(requester, "request")

    server = Server.objects.get(origin_request_id=pk)
    if os.environ.get("PORTAL_SCREENSHOTS"):
        more_servers(world)
    requester.goto(reverse("server-list"))
    expect(requester.get_by_role("link", name=server.name)).to_be_visible()
    screenshot(requester, "servers")
    requester.get_by_role("link", name=server.name).click()
    expect(requester.get_by_role("heading", name=re.compile(server.name))).to_be_visible()
    expect(requester.get_by_role("region", name="Audit trail")).to_contain_text("server.create")
    screenshot(requester, "server-detail")

    # A day-2 action from the detail page: confirm inline, then land on the new request.
    requester.get_by_role("link", name="Stop").click()
    requester.get_by_label("Justification").fill("Not needed over the weekend.")
    requester.get_by_role("button", name=re.compile("File request: stop")).click()
    expect(requester.get_by_role("heading", name=re.compile("Stop server"))).to_be_visible()

    # The Requests page finds both, filtered and sorted like the API.
    requester.goto(reverse("request-list"))
    requester.get_by_label("Kind").select_option("server_stop")
    requester.get_by_role("button", name="Search").click()
    expect(requester.get_by_role("table")).to_contain_text("Stop server")
    expect(requester.get_by_role("table")).not_to_contain_text(f"#{pk}")
    requester.goto(reverse("request-list"))
    screenshot(requester, "requests")

    something_for_operators(world, server)
    operator = open_as(make_portal_role("olga", "operate_portal"), reverse("operator-overview"))
    expect(operator.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    expect(operator.get_by_role("link", name="ghost-1")).to_be_visible()
    expect(operator.get_by_role("button", name=re.compile("^Retry #"))).to_be_visible()
    screenshot(operator, "operations")
    operator.goto(reverse("dashboard"))
    expect(operator.locator("#region-totals")).to_be_visible()
    screenshot(operator, "dashboard-operator")


def more_servers(world) -> None:
    """A fuller list for the README's picture (rows only: the cloud is not asked)."""
    for i, (name, status, flavor, vcpus) in enumerate(
        [("build-agent-1", "ACTIVE", "m1.large", 8), ("build-agent-2", "ACTIVE", "m1.large", 8),
         ("db-primary", "ACTIVE", "m1.xlarge", 16), ("db-replica", "SHUTOFF", "m1.xlarge", 16),
         ("jump-host", "ACTIVE", "m1.small", 2)]
    ):  # fmt: skip
        Server.objects.create(
            allocation=world.allocation, name=name, backend_id=f"shot-{i}", tag="shot",
            status=status, flavor_name=flavor, vcpus=vcpus, ram_mb=vcpus * 2048,
            image_name="debian-12", addresses=[{"address": f"10.30.0.{20 + i}", "network": "app"}],
            last_seen_at=timezone.now(),
        )  # fmt: skip


def something_for_operators(world, server) -> None:
    """An orphan, a server out of sight and a failed request, as the reconciler would leave."""
    Orphan.objects.create(region=world.region, kind="server", backend_id="9f1c0d2e",
                          name="ghost-1", project_id=world.allocation.project_id,
                          tag="portal-request-7.1.0")  # fmt: skip
    Server.objects.filter(pk=server.pk).update(last_seen_at=timezone.now() - timedelta(minutes=25))
    failed = services.request_submit(
        user=world.requester, kind=Kind.NETWORK, allocation=world.allocation, justification=WHY,
        spec={"name": "lab", "cidr": "10.60.0.0/24", "router": False},
    )  # fmt: skip
    ResourceRequest.objects.filter(pk=failed.pk).update(
        state=RequestState.FAILED, pending_stage="", state_changed_at=timezone.now(),
        failure_reason="Network quota of the project exceeded in the cloud; nothing was left "
        "behind.",
    )  # fmt: skip


def test_secret_request_needs_the_security_officer(open_as, storefront):
    world = storefront
    domain = world.region.domain
    domain.requires_security_officer = True
    domain.save()
    officer = make_user("sofia", sites=(world.region.site,))
    tenancy.security_officer_grant(grantee=officer, domain=domain)
    request = services.request_submit(
        user=world.requester, kind=Kind.NETWORK, allocation=world.allocation,
        spec={"name": "vault", "cidr": "10.40.0.0/24", "router": False}, justification=WHY,
    )  # fmt: skip
    requester = open_as(world.requester, request.get_absolute_url())

    approver = open_as(world.approver, reverse("approval-inbox"))
    approver.get_by_role("button", name=f"Approve #{request.pk}").click()
    expect(approver.locator(f"#request-{request.pk}")).to_contain_text(
        "waits for a security officer"
    )
    expect(requester.locator("#request-live")).to_contain_text("waiting for the security officer")

    # The tenant approver cannot take the second stage too.
    approver.reload()
    expect(approver.locator(f"#request-{request.pk}")).to_have_count(0)

    inbox = open_as(officer, reverse("approval-inbox"))
    row = inbox.locator(f"#request-{request.pk}")
    expect(row).to_contain_text("waiting for the security officer")
    row.get_by_role("button", name=f"Approve #{request.pk}").click()
    expect(inbox.locator(f"#request-{request.pk}")).to_contain_text("it is being built")
    expect(requester.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)


def test_rejection_comment_reaches_the_requester(open_as, storefront):
    world = storefront
    request = services.request_submit(
        user=world.requester, kind=Kind.NETWORK, allocation=world.allocation,
        spec={"name": "spare", "cidr": "10.50.0.0/24", "router": False}, justification=WHY,
    )  # fmt: skip
    requester = open_as(world.requester, request.get_absolute_url())

    approver = open_as(world.approver, reverse("approval-inbox"))
    row = approver.locator(f"#request-{request.pk}")
    row.get_by_role("button", name=f"Reject #{request.pk}").click()
    error = approver.locator(f"#comment-{request.pk}-error")
    expect(error).to_contain_text("Say why you reject it")
    comment = row.get_by_label(re.compile(f"^Comment on #{request.pk}"))
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_be_focused()  # the swapped-in row puts the focus where the error is
    comment.fill("Use the shared network app instead.")
    approver.get_by_role("button", name=f"Reject #{request.pk}").click()
    expect(approver.locator(f"#request-{request.pk}")).to_contain_text("rejected")

    expect(requester.locator("#request-state")).to_have_text("Rejected")
    expect(requester.locator("#request-live")).to_contain_text(
        "Use the shared network app instead."
    )


def test_over_quota_request_names_the_dimension_and_numbers(open_as, storefront):
    world = storefront
    world.allocation.vcpus = 2
    world.allocation.save()
    page = open_as(world.requester, "/")
    fill_vm_form(page, world, name="big", count=3)
    page.get_by_role("button", name="Plan").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Quota exceeded")
    expect(alert).to_contain_text("vCPUs 0 of 2 used, this request needs 3")
    expect(page.get_by_role("button", name="Submit request")).to_have_count(0)
    assert not ResourceRequest.objects.filter(kind=Kind.SERVER).exists()


def test_a_key_added_in_the_profile_is_picked_in_the_form_and_lands_on_the_server(
    open_as, storefront
):
    from portal.ssh_keys import parse_public_key
    from provisioning import cloud
    from provisioning.cloud import CloudTarget
    from tests.keys import ed25519_key, rsa_key

    world = storefront
    page = open_as(world.requester, "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys & tokens").click()
    expect(page.get_by_role("heading", name="SSH keys")).to_be_visible()
    page.get_by_label("Public key").fill(rsa_key(2048))
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 3072")
    text = ed25519_key("req@laptop")
    fingerprint = parse_public_key(text).fingerprint
    page.get_by_label("Public key").fill(text)
    page.get_by_label("Name", exact=True).fill("laptop")
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("row", name=re.compile("laptop"))).to_contain_text(fingerprint)

    fill_vm_form(page, world, name="keyed")
    key = world.requester.ssh_keys.get(name="laptop")
    page.get_by_label("SSH key").select_option(value=str(key.pk))
    page.get_by_role("button", name="Plan").click()
    expect(page.get_by_role("definition").filter(has_text="laptop")).to_contain_text(fingerprint)
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("Pending approval")
    pk = request_id(page)
    services.request_approve(user=world.approver, request=ResourceRequest.objects.get(pk=pk))
    expect(page.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)

    server = Server.objects.get(origin_request_id=pk)
    page.goto(server.get_absolute_url())
    expect(page.locator(".facts")).to_contain_text(fingerprint)
    world.allocation.refresh_from_db()
    target = CloudTarget(cloud=world.region.cloud_name, project_id=world.allocation.project_id)
    in_cloud = cloud.server_get(target, server.backend_id)
    assert in_cloud.key_name == ResourceRequest.objects.get(pk=pk).spec["ssh_key"]["keypair"]


def test_a_firewall_opening_is_asked_in_words_approved_in_the_inbox_and_opened(open_as, storefront):
    from provisioning.models import SecurityGroup

    world = storefront
    page = open_as(world.requester, reverse("network-list"))
    page.get_by_role("link", name="Security groups").click()
    page.get_by_role("link", name="Request a security group", exact=True).click()
    page.get_by_label("Allocation").select_option(str(world.allocation.pk))
    page.wait_for_load_state("networkidle")  # the fields reload for the allocation
    page.get_by_label("Name", exact=True).fill("web")
    page.get_by_label("Description").fill("Web tier")
    page.get_by_label("Justification").fill(WHY)
    page.get_by_role("button", name="Plan").click()
    page.get_by_role("button", name="Submit request").click()
    group_request = ResourceRequest.objects.get(pk=request_id(page))
    services.request_approve(user=world.approver, request=group_request)
    expect(page.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)
    group = SecurityGroup.objects.get(origin_request=group_request)

    page.goto(group.get_absolute_url())
    page.get_by_role("link", name="Open a firewall rule").click()
    page.wait_for_load_state("networkidle")  # the panel is in place before anything is typed
    page.get_by_label("First port").fill("22")
    page.get_by_label("From (or to) the addresses").fill("10.0.0.1/8")
    page.get_by_label("Justification").fill("Administrators reach the servers by SSH.")
    expect(page.get_by_label("First port")).to_have_value("22")
    page.get_by_role("button", name=re.compile("File request: open a firewall rule")).click()
    expect(page.locator("#remote_cidr-error")).to_contain_text("did you mean 10.0.0.0/8?")
    expect(page.get_by_label("First port")).to_have_value("22")  # kept with the error
    page.get_by_label("From (or to) the addresses").fill("10.0.0.0/8")
    page.get_by_role("button", name=re.compile("File request: open a firewall rule")).click()
    expect(page.get_by_role("heading", name=re.compile("Open a firewall rule"))).to_be_visible()
    pk = request_id(page)

    approver = open_as(world.approver, reverse("approval-inbox"))
    row = approver.locator(f"#request-{pk}")
    expect(row).to_contain_text("Opens TCP port 22 (SSH) inbound from 10.0.0.0/8")
    row.get_by_role("button", name=f"Approve #{pk}").click()
    expect(page.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)
    page.goto(group.get_absolute_url())
    expect(page.get_by_role("region", name="Rules")).to_contain_text(
        "Opens TCP port 22 (SSH) inbound from 10.0.0.0/8"
    )


def test_a_volume_is_sized_within_its_type_attached_to_a_server_and_not_deleted_in_use(
    open_as, storefront
):
    from provisioning.models import Volume, VolumeType

    world = storefront
    # The catalog sync found cloudsim's lvmdriver-1; the portal's admin gives it a size limit.
    # (A made-up type would fail the build: the cloud makes volumes only of the types it has.)
    VolumeType.objects.filter(region=world.region, name="lvmdriver-1").update(
        description="LVM on the storage hosts", max_size_gb=50
    )
    # A server to attach the volume to, built while the volume is asked for.
    builds = open_as(world.requester, "/")
    fill_vm_form(builds, world, name="db")
    builds.get_by_role("button", name="Plan").click()
    builds.get_by_role("button", name="Submit request").click()
    expect(builds.locator("#request-state")).to_have_text("Pending approval")
    server_request = ResourceRequest.objects.get(pk=request_id(builds))
    services.request_approve(user=world.approver, request=server_request)

    page = open_as(world.requester, "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Resources").click()
    page.get_by_role("navigation", name="Resources").get_by_role("link", name="Volumes").click()
    expect(page.get_by_role("heading", name="Volumes")).to_be_visible()
    # The empty list offers the same link again; the page's own button comes first.
    page.get_by_role("link", name="Request a volume").first.click()
    expect(page.get_by_role("heading", name="Request a volume")).to_be_visible()
    page.get_by_label("Allocation").select_option(str(world.allocation.pk))
    # Choosing the allocation reloads the fields with the region's volume types.
    volume_type = page.get_by_label("Volume type")
    expect(volume_type.locator("option", has_text="lvmdriver-1: LVM")).to_have_count(1)
    page.get_by_label("Name", exact=True).fill("pgdata")
    page.get_by_label("Size (GB)").fill("80")
    volume_type.select_option(label="lvmdriver-1: LVM on the storage hosts")
    page.get_by_label("Description").fill("database files")
    page.get_by_label("Justification").fill(WHY)
    page.get_by_role("button", name="Plan").click()
    size = page.get_by_label("Size (GB)")
    expect(size).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=size)).to_contain_text(
        "A volume of type lvmdriver-1 holds at most 50 GB."
    )
    # Nothing typed is lost.
    expect(size).to_have_value("80")
    expect(page.get_by_label("Name", exact=True)).to_have_value("pgdata")
    expect(volume_type).to_have_value("lvmdriver-1")
    expect(page.get_by_label("Description")).to_have_value("database files")
    expect(page.get_by_label("Justification")).to_have_value(WHY)
    size.fill("40")
    page.get_by_role("button", name="Plan").click()
    expect(page.get_by_role("heading", name=re.compile("^Plan"))).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text="pgdata: 40 GB")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Volume storage"))).to_contain_text("+40")
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("Pending approval")
    pk = request_id(page)

    approver = open_as(world.approver, reverse("approval-inbox"))
    row = approver.locator(f"#request-{pk}")
    expect(row).to_contain_text("pgdata: 40 GB")
    row.get_by_role("button", name=f"Approve #{pk}").click()
    expect(approver.locator(f"#request-{pk}")).to_contain_text("approved; it is being built")
    expect(page.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)
    page.locator("#request-live").get_by_role("link", name="pgdata", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^pgdata"))).to_be_visible()
    expect(page.locator(".facts .status")).to_have_text("available")

    # Attach it to the server, once that is built.
    expect(builds.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)
    server = Server.objects.get(origin_request=server_request)
    page.reload()
    page.get_by_role("link", name="Attach to a server").click()
    page.get_by_label("Server", exact=True).select_option(label=f"{server.name} ({server.status})")
    page.get_by_label("Justification").fill("The database keeps its files on the volume.")
    page.get_by_role("button", name="File request: attach to a server pgdata").click()
    filed_heading = re.compile(r"^Request #\d+: Attach a volume")
    expect(page.get_by_role("heading", name=filed_heading)).to_be_visible()
    expect(page.locator("#request-state")).to_have_text("Pending approval")
    attach = request_id(page)
    approver.goto(reverse("approval-inbox"))
    row = approver.locator(f"#request-{attach}")
    expect(row).to_contain_text(f"Attach pgdata (40 GB) to {server.name}")
    row.get_by_role("button", name=f"Approve #{attach}").click()
    expect(approver.locator(f"#request-{attach}")).to_contain_text("approved; it is being built")
    expect(page.locator("#request-state")).to_have_text("Completed", timeout=BUILD_TIMEOUT)

    page.goto(server.get_absolute_url())
    volumes = page.get_by_role("definition").filter(has=page.get_by_role("link", name="pgdata"))
    expect(volumes).to_contain_text("pgdata 40 GB as /dev/vdb")

    # Deleting it while the server uses it is refused on the field, unless detaching first.
    volumes.get_by_role("link", name="pgdata").click()
    expect(page.locator(".facts .status")).to_have_text("in-use")
    page.get_by_role("link", name="Decommission").click()
    reason = "The database moved to the new cluster."
    page.get_by_label("Justification").fill(reason)
    decommission = re.compile("File request: decommission pgdata")
    page.get_by_role("button", name=decommission).click()
    expect(page.locator("#detach-error")).to_contain_text("not deleted while a server uses it")
    detach = page.get_by_label(f"Detach it from {server.name} first")
    expect(detach).not_to_be_checked()
    expect(page.get_by_label("Justification")).to_have_value(reason)
    detach.check()
    page.get_by_role("button", name=decommission).click()
    filed_heading = re.compile(r"^Request #\d+: Decommission volume")
    expect(page.get_by_role("heading", name=filed_heading)).to_be_visible()
    expect(page.locator("#request-state")).to_have_text("Pending approval")
    expect(page.get_by_role("main")).to_contain_text(
        f"Detach pgdata from {server.name}, then delete pgdata (40 GB) and all its data"
    )
    filed = ResourceRequest.objects.get(pk=request_id(page))
    assert filed.kind == Kind.VOLUME_DECOMMISSION
    assert filed.target_volume == Volume.objects.get(origin_request_id=pk)
    assert filed.spec["detach_from"]["name"] == server.name
