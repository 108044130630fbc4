"""portalctl against a live portal: a token, allocations, a network request, a decision.

The live server runs in this process on a transactional database; approvals enqueue into the
in-process memory broker of the test settings, so no worker is needed (the request stays
approved, not built).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.tokens import token_create
from provisioning.models import RequestState, ResourceRequest

ROOT = Path(__file__).resolve().parents[2]


def portalctl(
    config: Path, *args: str, stdin: str = "", language: str = "en"
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTALCTL_CONFIG": str(config), "PORTALCTL_LANGUAGE": language}
    env.pop("PORTALCTL_PASSWORD", None)
    return subprocess.run(
        [sys.executable, "-m", "portalctl", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_request_a_network_and_approve_it_from_the_command_line(live_server, shop, tmp_path):
    rita, arno = tmp_path / "rita.json", tmp_path / "arno.json"

    created = portalctl(
        rita,
        "token", "create", "--url", live_server.url, "--username", "rita",
        "--password-stdin", "--name", "laptop", "--save",
        stdin="pw\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("ptk_")
    assert json.loads(rita.read_text())["token"] == created.stdout.strip()
    assert oct(rita.stat().st_mode & 0o777) == "0o600"

    allocations = portalctl(rita, "--json", "allocations")
    assert allocations.returncode == 0, allocations.stderr
    assert {a["id"] for a in json.loads(allocations.stdout)} == {shop.low.pk, shop.high.pk}

    requested = portalctl(
        rita,
        "--json", "request-network", "--allocation", str(shop.low.pk), "--name", "cli-net",
        "--cidr", "10.70.0.0/24", "--justification", "A network requested from the CLI.",
    )  # fmt: skip
    assert requested.returncode == 0, requested.stderr
    request_id = json.loads(requested.stdout)["id"]
    assert json.loads(requested.stdout)["state"] == RequestState.PENDING_APPROVAL

    refused = portalctl(rita, "approve", str(request_id))
    assert refused.returncode == 1
    assert "Four-eyes rule" in refused.stderr
    # In French: portalctl's own words and the portal's answer (it sent Accept-Language).
    refused = portalctl(rita, "approve", str(request_id), language="fr_BE.UTF-8")
    assert refused.returncode == 1
    assert "Principe des quatre yeux" in refused.stderr
    assert "Four-eyes" not in refused.stderr and "erreur (" in refused.stderr

    _token, secret = token_create(user=shop.approver, name="arno-cli")
    assert portalctl(arno, "login", "--url", live_server.url, "--token", secret).returncode == 0
    inbox = portalctl(arno, "inbox")
    assert inbox.returncode == 0, inbox.stderr
    assert f"#{request_id}" in inbox.stdout and "cli-net" in inbox.stdout

    approved = portalctl(arno, "approve", str(request_id), "--comment", "Fine.")
    assert approved.returncode == 0, approved.stderr
    assert ResourceRequest.objects.get(pk=request_id).state == RequestState.APPROVED
    listed = portalctl(rita, "requests", "--state", "approved")
    assert f"#{request_id}" in listed.stdout
    assert "Nothing awaits" in portalctl(arno, "inbox").stdout


@pytest.mark.django_db(transaction=True)
def test_wait_ends_non_zero_on_rejection_and_errors_are_readable(live_server, shop, tmp_path):
    rita, arno = tmp_path / "rita.json", tmp_path / "arno.json"
    for user, config in ((shop.requester, rita), (shop.approver, arno)):
        _token, secret = token_create(user=user, name="cli")
        assert (
            portalctl(config, "login", "--url", live_server.url, "--token", secret).returncode == 0
        )

    bad = portalctl(
        rita,
        "request-vm", "--allocation", str(shop.low.pk), "--name", "Bad_Name",
        "--flavor", "m1.small", "--image", "debian-12", "--network", str(shop.low_net.pk),
        "--justification", "A server requested from the CLI.",
    )  # fmt: skip
    assert bad.returncode == 1
    assert "error (400 invalid)" in bad.stderr and "name:" in bad.stderr

    vm = portalctl(
        rita,
        "--json", "request-vm", "--allocation", str(shop.low.pk), "--name", "cli-vm",
        "--flavor", "m1.small", "--image", "debian-12", "--network", str(shop.low_net.pk),
        "--justification", "A server requested from the CLI.",
    )  # fmt: skip
    assert vm.returncode == 0, vm.stderr
    request_id = json.loads(vm.stdout)["id"]
    timed_out = portalctl(rita, "show", str(request_id), "--wait", "--timeout", "0")
    assert timed_out.returncode == 4

    assert (
        portalctl(arno, "reject", str(request_id), "--comment", "Use the shared one.").returncode
        == 0
    )
    waited = portalctl(rita, "show", str(request_id), "--wait", "--interval", "0.1")
    assert waited.returncode == 3
    assert "ended rejected: Use the shared one." in waited.stderr

    missing = portalctl(tmp_path / "nobody.json", "requests")
    assert missing.returncode == 2 and "Not signed in" in missing.stderr


@pytest.mark.django_db(transaction=True)
def test_sla_report_from_the_command_line(live_server, shop, tmp_path, settings):
    from provisioning import services
    from provisioning.models import Kind

    settings.PORTAL_SLA_DECISION_SECONDS = 0  # whatever waits is late
    waiting = services.request_submit(
        user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
        spec={"name": "sla-net", "cidr": "10.71.0.0/24", "router": False},
        justification="A network for the SLA report.",
    )  # fmt: skip
    rita = tmp_path / "rita.json"
    _token, secret = token_create(user=shop.requester, name="cli")
    assert portalctl(rita, "login", "--url", live_server.url, "--token", secret).returncode == 0

    report = portalctl(rita, "sla", "--group-by", "tenant", "--days", "7")
    assert report.returncode == 0, report.stderr
    assert "the last 7 days" in report.stdout
    assert "Blue Unit" in report.stdout
    assert f"late #{waiting.pk}" in report.stdout and "(still waiting)" in report.stdout

    bad = portalctl(rita, "sla", "--month", "2026-13")
    assert bad.returncode == 1
    assert "month:" in bad.stderr


@pytest.mark.django_db(transaction=True)
def test_ssh_keys_from_the_command_line_and_a_server_that_carries_one(live_server, shop, tmp_path):
    from tests.keys import ed25519_key, rsa_key

    rita = tmp_path / "rita.json"
    _token, secret = token_create(user=shop.requester, name="cli")
    assert portalctl(rita, "login", "--url", live_server.url, "--token", secret).returncode == 0
    pub = tmp_path / "id_ed25519.pub"
    pub.write_text(ed25519_key("rita@laptop") + "\n")

    added = portalctl(rita, "keys", "add", str(pub))
    assert added.returncode == 0, added.stderr
    assert "rita@laptop" in added.stdout and "SHA256:" in added.stdout
    weak = portalctl(rita, "keys", "add", "-", "--name", "old", stdin=rsa_key(2048))
    assert weak.returncode == 1 and "at least 3072" in weak.stderr
    missing = portalctl(rita, "keys", "add", str(tmp_path / "nope.pub"))
    assert missing.returncode == 2 and "Cannot read" in missing.stderr
    listed = portalctl(rita, "--json", "keys", "list")
    assert [k["name"] for k in json.loads(listed.stdout)] == ["rita@laptop"]

    vm = portalctl(
        rita,
        "--json", "request-vm", "--allocation", str(shop.low.pk), "--name", "keyed",
        "--flavor", "m1.small", "--image", "debian-12", "--network", str(shop.low_net.pk),
        "--ssh-key", "rita@laptop", "--justification", "A server with my key on it.",
    )  # fmt: skip
    assert vm.returncode == 0, vm.stderr
    spec = ResourceRequest.objects.get(pk=json.loads(vm.stdout)["id"]).spec
    assert spec["ssh_key"]["name"] == "rita@laptop"
    unknown = portalctl(
        rita,
        "request-vm", "--allocation", str(shop.low.pk), "--name", "keyed2", "--flavor",
        "m1.small", "--image", "debian-12", "--network", str(shop.low_net.pk),
        "--ssh-key", "desktop", "--justification", "A server with my key on it.",
    )  # fmt: skip
    assert unknown.returncode == 2 and "No SSH key 'desktop'" in unknown.stderr

    removed = portalctl(rita, "keys", "remove", "rita@laptop")
    assert removed.returncode == 0 and "Removed rita@laptop" in removed.stdout
    assert portalctl(rita, "keys", "list").stdout.strip() == "You have no SSH keys."


@pytest.mark.django_db(transaction=True)
def test_day2_requests_on_a_server_from_the_command_line(live_server, shop, tmp_path):
    from provisioning.models import Kind, Server

    rita = tmp_path / "rita.json"
    _token, secret = token_create(user=shop.requester, name="cli")
    assert portalctl(rita, "login", "--url", live_server.url, "--token", secret).returncode == 0
    shop.low_net.router_id = "router-1"
    shop.low_net.save(update_fields=["router_id"])
    server = Server.objects.create(
        allocation=shop.low, name="web", backend_id="srv-1", tag="t", status="ACTIVE"
    )
    server.networks.set([shop.low_net])

    added = portalctl(
        rita, "--json", "server", "add-address", str(server.pk),
        "--justification", "Reachable from the agency network.",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    request = ResourceRequest.objects.get(pk=json.loads(added.stdout)["id"])
    assert (request.kind, request.target_server_id) == (Kind.SERVER_ADDRESS_ADD, server.pk)
    busy = portalctl(
        rita, "server", "stop", str(server.pk), "--justification", "Maintenance window tonight.",
    )  # fmt: skip
    assert busy.returncode == 1 and "already has a request in progress" in busy.stderr
    unknown = portalctl(
        rita, "server", "reboot", "999999", "--justification", "Maintenance window tonight."
    )
    assert unknown.returncode == 1 and "Not found" in unknown.stderr
    ResourceRequest.objects.all().delete()
    no_flavor = portalctl(
        rita, "server", "resize", str(server.pk), "--justification", "It needs more memory."
    )
    assert no_flavor.returncode == 2 and "needs --flavor" in no_flavor.stderr
    server.flavor_name, server.vcpus, server.ram_mb = "m1.small", 2, 2048
    server.save()
    resized = portalctl(
        rita, "--json", "server", "resize", str(server.pk), "--flavor", "m1.large",
        "--justification", "It needs more memory.",
    )  # fmt: skip
    assert resized.returncode == 0, resized.stderr
    assert ResourceRequest.objects.get().spec["flavor"] == "m1.large"


@pytest.mark.django_db(transaction=True)
def test_security_groups_and_rules_from_the_command_line(live_server, shop, tmp_path):
    from provisioning.models import Kind, SecurityGroup, SecurityGroupRule

    rita = tmp_path / "rita.json"
    _token, secret = token_create(user=shop.requester, name="cli")
    assert portalctl(rita, "login", "--url", live_server.url, "--token", secret).returncode == 0
    made = portalctl(
        rita, "--json", "request-security-group", "--allocation", str(shop.low.pk),
        "--name", "web", "--description", "Web tier", "--justification", "The web tier group.",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert ResourceRequest.objects.get(kind=Kind.SECURITY_GROUP).spec["name"] == "web"

    group = SecurityGroup.objects.create(
        allocation=shop.low, name="web", backend_id="sg-web", tag="t"
    )
    SecurityGroupRule.objects.create(
        group=group, direction="ingress", protocol="tcp", port_min=443, port_max=443,
        remote_cidr="0.0.0.0/0",
    )  # fmt: skip
    listed = portalctl(rita, "security-groups")
    assert "Opens TCP port 443 (HTTPS) inbound from anywhere" in listed.stdout
    opened = portalctl(
        rita, "--json", "open-rule", str(group.pk), "--ports", "8000-8080",
        "--cidr", "10.10.0.0/16", "--justification", "The app servers listen there.",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    rule = ResourceRequest.objects.get(kind=Kind.SECURITY_GROUP_RULE)
    assert rule.spec["sentence"] == "Opens TCP ports 8000-8080 inbound from 10.10.0.0/16"
    bad = portalctl(
        rita, "open-rule", str(group.pk), "--ports", "80-22", "--cidr", "10.0.0.0/8",
        "--justification", "The app servers listen there.",
    )  # fmt: skip
    assert bad.returncode == 1 and "ends before it starts" in bad.stderr
    usage = portalctl(
        rita, "open-rule", str(group.pk), "--ports", "ssh", "--cidr", "10.0.0.0/8",
        "--justification", "The app servers listen there.",
    )  # fmt: skip
    assert usage.returncode == 2 and "--ports takes a port" in usage.stderr
    https = group.rules.get()
    assert f"rule {https.pk}" in portalctl(rita, "security-groups").stdout
    closed = portalctl(
        rita, "--json", "close-rule", str(group.pk), str(https.pk),
        "--justification", "The site moved behind the gateway.",
    )  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    closing = ResourceRequest.objects.get(kind=Kind.SECURITY_GROUP_RULE_REMOVE)
    assert closing.spec["sentence"] == "Closes TCP port 443 (HTTPS) inbound from anywhere"


@pytest.mark.django_db(transaction=True)
def test_volumes_from_the_command_line(live_server, shop, tmp_path):
    from provisioning.models import Kind, Server, Volume

    rita = tmp_path / "rita.json"
    _token, secret = token_create(user=shop.requester, name="cli")
    assert portalctl(rita, "login", "--url", live_server.url, "--token", secret).returncode == 0
    made = portalctl(
        rita, "--json", "request-volume", "--allocation", str(shop.low.pk), "--name", "pgdata",
        "--size", "30", "--justification", "Database files of the planning tool.",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    request = ResourceRequest.objects.get(kind=Kind.VOLUME)
    assert (request.spec["name"], request.gigabytes) == ("pgdata", 30)
    zero = portalctl(
        rita, "request-volume", "--allocation", str(shop.low.pk), "--name", "empty",
        "--size", "0", "--justification", "Database files of the planning tool.",
    )  # fmt: skip
    assert zero.returncode == 1 and "at least 1 GB" in zero.stderr

    server = Server.objects.create(
        allocation=shop.low, name="db", backend_id="srv-db", tag="t", status="ACTIVE"
    )
    volume = Volume.objects.create(
        allocation=shop.low, name="pgdata", backend_id="vol-1", tag="t", size_gb=30,
        status="available",
    )  # fmt: skip
    listed = portalctl(rita, "volumes")
    assert f"{volume.pk:<5} pgdata" in listed.stdout and "available" in listed.stdout
    usage = portalctl(rita, "volume", "attach", str(volume.pk), "--justification", "For db.")
    assert usage.returncode == 2 and "needs --server" in usage.stderr
    attached = portalctl(
        rita, "--json", "volume", "attach", str(volume.pk), "--server", str(server.pk),
        "--justification", "The database server needs its files.",
    )  # fmt: skip
    assert attached.returncode == 0, attached.stderr
    attach = ResourceRequest.objects.get(kind=Kind.VOLUME_ATTACH)
    assert attach.spec["server"]["name"] == "db" and attach.target_volume == volume
    ResourceRequest.objects.filter(kind=Kind.VOLUME_ATTACH).delete()
    extended = portalctl(
        rita, "--json", "volume", "extend", str(volume.pk), "--size", "50",
        "--justification", "The database grew.",
    )  # fmt: skip
    assert extended.returncode == 0, extended.stderr
    assert ResourceRequest.objects.get(kind=Kind.VOLUME_EXTEND).gigabytes == 20
