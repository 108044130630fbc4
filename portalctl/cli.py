"""portalctl's commands: sign in with a token, list, request, decide, wait.

Configuration (URL and token) lives in ``$PORTALCTL_CONFIG`` or ``~/.config/portalctl.json``,
readable by its owner only. Exit codes: 0 done, 1 the portal refused (its message is printed),
2 usage or configuration, 3 a waited-for request ended failed, rejected or cancelled, 4 the wait
timed out.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from portalctl.client import ApiError, Client
from portalctl.i18n import _, ngettext

TERMINAL_OK = {"completed"}
TERMINAL_BAD = {"failed", "rejected", "cancelled"}
EXIT_REFUSED, EXIT_USAGE, EXIT_ENDED_BADLY, EXIT_TIMEOUT = 1, 2, 3, 4


class UsageError(Exception):
    pass


def config_path() -> Path:
    return Path(os.environ.get("PORTALCTL_CONFIG") or Path.home() / ".config" / "portalctl.json")


def save_config(url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created readable by the owner only: the file holds a secret.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url.rstrip("/"), "token": token}, handle)
    return path


def load_client() -> Client:
    path = config_path()
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(
            _("Not signed in: run 'portalctl login --url URL --token TOKEN' (%(path)s).")
            % {"path": path}
        ) from None
    return Client(url=config["url"], token=config["token"])


# --- output ---------------------------------------------------------------------------------


def show(args: argparse.Namespace, data: Any, rows: list[str] | None = None) -> None:
    if args.json or rows is None:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print("\n".join(rows))


def request_line(r: dict[str, Any]) -> str:
    where = r["allocation"]
    by = _("%(place)s by %(requester)s") % {
        "place": f"{where['tenant']}@{where['region']}",
        "requester": r["requester"],
    }
    return f"#{r['id']:<6} {r['state']:<17} {r['kind']:<21} {r['title'] or '-':<24} {by}"


# --- commands -------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    client = Client(url=args.url, token=args.token)
    memberships = client.list("memberships/")
    path = save_config(args.url, args.token)
    count = len(memberships)
    print(
        ngettext(
            "Signed in to %(url)s; %(count)d membership. Saved to %(path)s.",
            "Signed in to %(url)s; %(count)d memberships. Saved to %(path)s.",
            count,
        )
        % {"url": args.url, "count": count, "path": path}
    )
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    password = password or os.environ.get("PORTALCTL_PASSWORD") or getpass.getpass()
    client = Client(url=args.url, basic=(args.username, password))
    body: dict[str, Any] = {"name": args.name, "read_only": args.read_only}
    if args.expires_days:
        expiry = datetime.now(UTC) + timedelta(days=args.expires_days)
        body["expires_at"] = expiry.isoformat()
    token = client.post("tokens/", body)
    if args.save:
        path = save_config(args.url, token["secret"])
        print(
            _("Token %(name)s (%(prefix)s…) saved to %(path)s.")
            % {"name": token["name"], "prefix": token["prefix"], "path": path},
            file=sys.stderr,
        )
    show(args, token, [token["secret"]])
    return 0


def cmd_allocations(args: argparse.Namespace) -> int:
    rows = load_client().list("allocations/", tenant=args.tenant, site=args.site)
    lines = []
    for a in rows:
        quotas = ", ".join(f"{q['dimension']} {q['used']}/{q['limit']}" for q in a["quotas"])
        lines.append(f"{a['id']:<5} {a['tenant']['slug']}@{a['region']['slug']:<20} {quotas}")
    show(args, rows, lines)
    return 0


def cmd_requests(args: argparse.Namespace) -> int:
    rows = load_client().list("requests/", state=args.state, kind=args.kind, tenant=args.tenant)
    show(args, rows, [request_line(r) for r in rows])
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    rows = load_client().list("approvals/")
    show(args, rows, [request_line(r) for r in rows] or [_("Nothing awaits your decision.")])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    client = load_client()
    if args.wait:
        return wait_for(args, client, args.id)
    r = client.get(f"requests/{args.id}/")
    show(args, r, [request_line(r), *timeline(r)])
    return 0


def timeline(r: dict[str, Any]) -> list[str]:
    return [
        f"  {t['at']}  {t['from_state'] or '-'} -> {t['to_state']}  {t['actor'] or _('system')}"
        f"{'  ' + t['note'] if t['note'] else ''}"
        for t in r.get("transitions", [])
    ]


def submit(args: argparse.Namespace, body: dict[str, Any], path: str = "requests/") -> int:
    """File a request (at ``path``: a collection or an object's action), waiting if asked."""
    client = load_client()
    created = client.post(path, body)
    if args.wait:
        print(request_line(created), file=sys.stderr)
        return wait_for(args, client, created["id"])
    show(args, created, [request_line(created)])
    return 0


def cmd_request_network(args: argparse.Namespace) -> int:
    spec = {"name": args.name, "cidr": args.cidr, "router": not args.no_router}
    if args.gateway:
        spec["gateway"] = args.gateway
    if args.dns:
        spec["dns"] = args.dns
    body = {
        "kind": "network",
        "allocation": args.allocation,
        "justification": args.justification,
        "spec": spec,
    }
    return submit(args, body)


def cmd_request_vm(args: argparse.Namespace) -> int:
    if not args.offering and not (args.flavor and args.image):
        raise UsageError(_("Give --offering, or --flavor and --image."))
    spec: dict[str, Any] = {"name": args.name, "networks": args.network, "count": args.count}
    for key in ("offering", "flavor", "image", "lease_end"):
        if getattr(args, key):
            spec[key] = getattr(args, key)
    if args.ssh_key:
        spec["ssh_key"] = find_key(load_client(), args.ssh_key)["id"]
    if args.boot_volume_gb:
        spec["boot_volume_gb"] = args.boot_volume_gb
    body = {
        "kind": "server",
        "allocation": args.allocation,
        "justification": args.justification,
        "spec": spec,
    }
    return submit(args, body)


def cmd_request_security_group(args: argparse.Namespace) -> int:
    body = {
        "kind": "security_group",
        "allocation": args.allocation,
        "justification": args.justification,
        "spec": {"name": args.name, "description": args.description or ""},
    }
    return submit(args, body)


def cmd_request_volume(args: argparse.Namespace) -> int:
    spec = {"name": args.name, "size_gb": args.size, "volume_type": args.type or "",
            "description": args.description or ""}  # fmt: skip
    body = {
        "kind": "volume",
        "allocation": args.allocation,
        "justification": args.justification,
        "spec": spec,
    }
    return submit(args, body)


#: portalctl volume ACTION -> the API's day-2 action on a volume.
VOLUME_ACTIONS = ("attach", "detach", "extend", "decommission")


def cmd_volume(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"justification": args.justification}
    if args.action == "attach":
        if not args.server:
            raise UsageError(_("Attaching needs --server (a server id of the same allocation)."))
        body["server"] = args.server
    elif args.action == "extend":
        if not args.size:
            raise UsageError(_("Extending needs --size (the new size in GB)."))
        body["size_gb"] = args.size
    elif args.action == "decommission":
        body["detach"] = args.detach
    return submit(args, body, f"volumes/{args.id}/{args.action}/")


def cmd_volumes(args: argparse.Namespace) -> int:
    rows = load_client().list("volumes/")
    lines = []
    for v in rows:
        place = f"{v['allocation']['tenant']}@{v['allocation']['region']}"
        where = ""
        if v["server"]:
            where = "  " + _("on server %(server)s %(device)s") % {
                "server": v["server"],
                "device": v["device"],
            }
        size = _("%(size)s GB") % {"size": f"{v['size_gb']:>5}"}
        lines.append(f"{v['id']:<5} {v['name']:<24} {size}  {v['status']:<10} {place}{where}")
    show(args, rows, lines or [_("No volumes you can see.")])
    return 0


def parse_ports(text: str | None) -> tuple[int | None, int | None]:
    """``"22"`` -> (22, 22), ``"8000-8080"`` -> (8000, 8080), nothing -> (None, None)."""
    if not text:
        return None, None
    low, _sep, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise UsageError(
            _("--ports takes a port or a range such as 8000-8080, not %(ports)r.") % {"ports": text}
        ) from None


def cmd_open_rule(args: argparse.Namespace) -> int:
    low, high = parse_ports(args.ports)
    body: dict[str, Any] = {
        "justification": args.justification,
        "direction": "egress" if args.outbound else "ingress",
        "protocol": args.protocol,
        "port_min": low,
        "port_max": high,
        "remote_cidr": args.cidr or "",
        "remote_group": args.group,
        "description": args.description or "",
    }
    return submit(args, body, f"security-groups/{args.id}/rules/")


def cmd_close_rule(args: argparse.Namespace) -> int:
    body = {"justification": args.justification, "rule": args.rule}
    return submit(args, body, f"security-groups/{args.id}/close-rule/")


def cmd_delete_security_group(args: argparse.Namespace) -> int:
    body = {"justification": args.justification}
    return submit(args, body, f"security-groups/{args.id}/decommission/")


def cmd_security_groups(args: argparse.Namespace) -> int:
    rows = load_client().list("security-groups/")
    lines = []
    for g in rows:
        place = f"{g['allocation']['tenant']}@{g['allocation']['region']}"
        drift = "  " + _("drift: %(count)s") % {"count": len(g["drift"])} if g["drift"] else ""
        lines.append(f"{g['id']:<5} {g['name']:<24} {place}{drift}")
        lines += [
            "      " + _("rule %(id)s %(opens)s") % {"id": f"{r['id']:<5}", "opens": r["opens"]}
            for r in g["rules"]
        ]
    show(args, rows, lines or [_("No security groups you can see.")])
    return 0


def key_line(k: dict[str, Any]) -> str:
    return f"{k['id']:<5} {k['name']:<24} {k['key_type']:<20} {k['fingerprint']}"


def find_key(client: Client, wanted: str) -> dict[str, Any]:
    """One of the caller's keys, by id or by name."""
    keys = client.list("ssh-keys/")
    found = [k for k in keys if str(k["id"]) == wanted or k["name"] == wanted]
    if not found:
        names = ", ".join(k["name"] for k in keys) or _("none; add one with 'portalctl keys add'")
        raise UsageError(
            _("No SSH key %(key)r among yours (%(names)s).") % {"key": wanted, "names": names}
        )
    return found[0]


def cmd_keys_list(args: argparse.Namespace) -> int:
    rows = load_client().list("ssh-keys/")
    show(args, rows, [key_line(k) for k in rows] or [_("You have no SSH keys.")])
    return 0


def cmd_keys_add(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    except OSError as exc:
        raise UsageError(
            _("Cannot read %(file)s: %(error)s.") % {"file": args.file, "error": exc.strerror}
        ) from None
    key = load_client().post("ssh-keys/", {"public_key": text.strip(), "name": args.name or ""})
    show(args, key, [key_line(key)])
    return 0


def cmd_keys_remove(args: argparse.Namespace) -> int:
    client = load_client()
    key = find_key(client, args.key)
    client.delete(f"ssh-keys/{key['id']}/")
    print(
        _("Removed %(name)s (%(fingerprint)s).")
        % {"name": key["name"], "fingerprint": key["fingerprint"]}
    )
    return 0


#: portalctl server ACTION -> the API's day-2 action on a server.
SERVER_ACTIONS = (
    "start", "stop", "reboot", "resize", "add-address", "release-address", "decommission",
)  # fmt: skip


def cmd_server(args: argparse.Namespace) -> int:
    body = {"justification": args.justification}
    if args.action == "resize":
        if not args.flavor:
            raise UsageError(_("A resize needs --flavor (see the region's flavors)."))
        body["flavor"] = args.flavor
    return submit(args, body, f"servers/{args.id}/{args.action}/")


def cmd_approve(args: argparse.Namespace) -> int:
    r = load_client().post(f"requests/{args.id}/approve/", {"comment": args.comment or ""})
    show(args, r, [request_line(r)])
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    r = load_client().post(f"requests/{args.id}/reject/", {"comment": args.comment})
    show(args, r, [request_line(r)])
    return 0


def wait_for(args: argparse.Namespace, client: Client, request_id: int) -> int:
    """Poll until the request ends; its final state decides the exit code."""
    deadline = time.monotonic() + args.timeout
    last = None
    while True:
        r = client.get(f"requests/{request_id}/")
        if r["state"] != last:
            print(
                f"#{request_id}: {r['state']} {r.get('status_note') or ''}".rstrip(),
                file=sys.stderr,
            )
            last = r["state"]
        if r["state"] in TERMINAL_OK | TERMINAL_BAD:
            show(args, r, [request_line(r), *timeline(r)])
            if r["state"] in TERMINAL_BAD:
                reason = r.get("failure_reason") or (
                    r["approvals"][-1]["comment"] if r.get("approvals") else ""
                )
                if reason:
                    print(
                        _("ended %(state)s: %(reason)s") % {"state": r["state"], "reason": reason},
                        file=sys.stderr,
                    )
                return EXIT_ENDED_BADLY
            return 0
        if time.monotonic() >= deadline:
            print(
                _("#%(id)s still %(state)s after %(seconds)ss")
                % {"id": request_id, "state": r["state"], "seconds": f"{args.timeout:g}"},
                file=sys.stderr,
            )
            return EXIT_TIMEOUT
        time.sleep(args.interval)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def cmd_sla(args: argparse.Namespace) -> int:
    query = {"group_by": args.group_by, "days": args.days, "month": args.month}
    report = load_client().get("reports/sla/", **query)
    lines = [
        _("%(period)s: decision target %(decision)s, build target %(build)s")
        % {
            "period": report["period"]["label"],
            "decision": _duration(report["decision_target_seconds"]),
            "build": _duration(report["build_target_seconds"]),
        }
    ]
    for row in report["rows"]:
        figures = _(
            "decision p90 %(decision)s late %(decision_late)s  "
            "build p90 %(build)s late %(build_late)s  failed %(failed)s"
        ) % {
            "decision": f"{_duration(row['decision']['p90']):>12}",
            "decision_late": f"{row['decision_late']:>3}",
            "build": f"{_duration(row['build']['p90']):>12}",
            "build_late": f"{row['build_late']:>3}",
            "failed": row["failed"],
        }
        lines.append(f"{row['group'][:24]:<24} {row['kind']:<21} {row['requests']:>5}  {figures}")
    for late in report["late_requests"]:
        waiting = " " + _("(still waiting)") if late["still_waiting"] else ""
        lines.append(
            _("late #%(request)s %(target)s by %(late_by)s%(waiting)s  %(title)s")
            % {
                "request": f"{late['request']:<6}",
                "target": f"{late['target']:<8}",
                "late_by": _duration(late["late_by_seconds"]),
                "waiting": waiting,
                "title": late["title"],
            }
        )
    show(args, report, lines)
    return 0


# --- parser ---------------------------------------------------------------------------------


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help=_("Poll until the request ends."))
    parser.add_argument("--timeout", type=float, default=1800.0, help=_("Seconds to wait at most."))
    parser.add_argument("--interval", type=float, default=5.0, help=_("Seconds between polls."))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portalctl",
        description=_("portalctl's commands: sign in with a token, list, request, decide, wait."),
    )
    parser.add_argument("--json", action="store_true", help=_("Print the API's JSON."))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("login", help=_("Store the portal URL and a token."))
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.set_defaults(func=cmd_login)

    token = sub.add_parser("token", help=_("Personal tokens.")).add_subparsers(
        dest="token_command", required=True
    )
    p = token.add_parser("create", help=_("Create a token with your password (shown once)."))
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password-stdin", action="store_true", help=_("Read the password from stdin."))
    p.add_argument("--name", default="portalctl")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--expires-days", type=int, default=90, help=_("0 for no expiry."))
    p.add_argument("--save", action="store_true", help=_("Also sign portalctl in with it."))
    p.set_defaults(func=cmd_token_create)

    p = sub.add_parser("allocations", help=_("Your allocations and their quota usage."))
    p.add_argument("--tenant")
    p.add_argument("--site")
    p.set_defaults(func=cmd_allocations)

    p = sub.add_parser("request-network", help=_("Request a new network."))
    p.add_argument("--allocation", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--cidr", required=True)
    p.add_argument("--gateway")
    p.add_argument("--dns", help=_("Comma-separated DNS servers."))
    p.add_argument("--no-router", action="store_true")
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_request_network)

    p = sub.add_parser("request-vm", help=_("Request new server(s)."))
    p.add_argument("--allocation", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--offering")
    p.add_argument("--flavor")
    p.add_argument("--image")
    p.add_argument("--network", type=int, action="append", required=True, help=_("Repeatable."))
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--ssh-key", help=_("One of your SSH keys, by id or name."))
    p.add_argument("--boot-volume-gb", type=int, help=_("Boot from a volume of this size (GB)."))
    p.add_argument("--lease-end", help=_("ISO date-time."))
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_request_vm)

    p = sub.add_parser(
        "server",
        help=_("A day-2 request on a server: power, resize, external address, decommission."),
    )
    p.add_argument("action", choices=SERVER_ACTIONS)
    p.add_argument("id", type=int, help=_("The server's id."))
    p.add_argument("--flavor", help=_("For resize: the new flavor's name."))
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_server)

    p = sub.add_parser("volumes", help=_("Volumes you can see, with the server each is on."))
    p.set_defaults(func=cmd_volumes)

    p = sub.add_parser("request-volume", help=_("Request a new volume."))
    p.add_argument("--allocation", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--size", type=int, required=True, help=_("GB."))
    p.add_argument("--type", help=_("A volume type's name; default: the cloud's."))
    p.add_argument("--description")
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_request_volume)

    p = sub.add_parser(
        "volume", help=_("A day-2 request on a volume: attach, detach, extend, decommission.")
    )
    p.add_argument("action", choices=VOLUME_ACTIONS)
    p.add_argument("id", type=int, help=_("The volume's id."))
    p.add_argument("--server", type=int, help=_("For attach: the server's id."))
    p.add_argument("--size", type=int, help=_("For extend: the new size in GB."))
    p.add_argument("--detach", action="store_true",
                   help=_("For decommission: detach it from its server first."))  # fmt: skip
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_volume)

    p = sub.add_parser("security-groups", help=_("Security groups you can see, with their rules."))
    p.set_defaults(func=cmd_security_groups)

    p = sub.add_parser("request-security-group", help=_("Request a new security group."))
    p.add_argument("--allocation", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--description")
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_request_security_group)

    p = sub.add_parser("open-rule", help=_("Request a rule in a security group (reviewed)."))
    p.add_argument("id", type=int, help=_("The security group's id."))
    p.add_argument("--protocol", choices=["tcp", "udp", "icmp", "any"], default="tcp")
    p.add_argument("--ports", help=_("A port or a range, e.g. 22 or 8000-8080; none: all."))
    peer = p.add_mutually_exclusive_group(required=True)
    peer.add_argument("--cidr", help=_("From (or to) these addresses, e.g. 10.10.0.0/16."))
    peer.add_argument("--group", type=int, help=_("From (or to) the servers of this group id."))
    p.add_argument("--outbound", action="store_true", help=_("An egress rule (default inbound)."))
    p.add_argument("--description")
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_open_rule)

    p = sub.add_parser(
        "delete-security-group", help=_("Request to delete a security group no server uses.")
    )
    p.add_argument("id", type=int, help=_("The security group's id."))
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_delete_security_group)

    p = sub.add_parser("close-rule", help=_("Request to close a rule of a security group."))
    p.add_argument("id", type=int, help=_("The security group's id."))
    p.add_argument("rule", type=int, help=_("The rule's id (see 'portalctl security-groups')."))
    p.add_argument("--justification", required=True)
    _wait_options(p)
    p.set_defaults(func=cmd_close_rule)

    keys = sub.add_parser("keys", help=_("Your public SSH keys.")).add_subparsers(
        dest="keys_command", required=True
    )
    p = keys.add_parser("list", help=_("Your keys."))
    p.set_defaults(func=cmd_keys_list)
    p = keys.add_parser("add", help=_("Add a public key (a .pub file, or - for stdin)."))
    p.add_argument("file")
    p.add_argument("--name", help=_("Default: the key's comment."))
    p.set_defaults(func=cmd_keys_add)
    p = keys.add_parser("remove", help=_("Remove a key (servers built with it keep it)."))
    p.add_argument("key", help=_("Its id or name."))
    p.set_defaults(func=cmd_keys_remove)

    p = sub.add_parser("requests", help=_("Requests you can see."))
    p.add_argument("--state")
    p.add_argument("--kind")
    p.add_argument("--tenant")
    p.set_defaults(func=cmd_requests)

    p = sub.add_parser("show", help=_("One request and its timeline."))
    p.add_argument("id", type=int)
    _wait_options(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("inbox", help=_("Requests waiting for your decision."))
    p.set_defaults(func=cmd_inbox)

    p = sub.add_parser("sla", help=_("SLA figures and the late requests."))
    period = p.add_mutually_exclusive_group()
    period.add_argument("--days", type=int, choices=[7, 30, 90])
    period.add_argument("--month", help=_("YYYY-MM (UTC)."))
    p.add_argument("--group-by", choices=["domain", "site", "tenant"], default="domain")
    p.set_defaults(func=cmd_sla)

    p = sub.add_parser("approve", help=_("Approve a request."))
    p.add_argument("id", type=int)
    p.add_argument("--comment")
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("reject", help=_("Reject a request, saying why."))
    p.add_argument("id", type=int)
    p.add_argument("--comment", required=True)
    p.set_defaults(func=cmd_reject)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "expires_days", None) == 0:
        args.expires_days = None
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"portalctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as exc:
        print(exc.describe(), file=sys.stderr)
        return EXIT_REFUSED
