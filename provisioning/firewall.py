"""Firewall rules in plain words, and what a security domain allows them to open.

A rule is reviewed by people who may not read ``tcp 22 0.0.0.0/0 ingress`` at a glance, so every
rule is also said as a sentence ("Opens TCP port 22 (SSH) inbound from anywhere"), and the
domain's policy is checked before anybody is asked: some openings are refused outright, some
need the domain's security officer as well.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.utils.translation import gettext as _

from tenants.models import SecurityDomain
from tenants.models.places import parse_port_list

#: Names people know ports by; said next to the number.
PORT_NAMES = {
    20: "FTP data", 21: "FTP", 22: "SSH", 23: "Telnet", 25: "SMTP", 53: "DNS", 80: "HTTP",
    88: "Kerberos", 110: "POP3", 123: "NTP", 135: "MS RPC", 139: "NetBIOS", 143: "IMAP",
    161: "SNMP", 389: "LDAP", 443: "HTTPS", 445: "SMB", 636: "LDAPS", 993: "IMAPS",
    1433: "SQL Server", 1521: "Oracle", 3306: "MySQL", 3389: "RDP", 5432: "PostgreSQL",
    5672: "AMQP", 5985: "WinRM", 5986: "WinRM over TLS", 6379: "Redis", 6443: "Kubernetes API",
    8080: "HTTP alternate", 8443: "HTTPS alternate", 9090: "Prometheus",
}  # fmt: skip
PROTOCOLS = ("tcp", "udp", "icmp", "any")


def _ports(spec: dict[str, Any]) -> str:
    low, high = spec.get("port_min"), spec.get("port_max")
    if low is None:
        return "all ports"
    if low == high:
        name = PORT_NAMES.get(low)
        return f"port {low}" + (f" ({name})" if name else "")
    return f"ports {low}-{high}"


def rule_sentence(spec: dict[str, Any]) -> str:
    """What a rule opens, in words: "Opens TCP port 22 (SSH) inbound from 10.0.0.0/8"."""
    protocol = (spec.get("protocol") or "any").lower()
    inbound = spec.get("direction", "ingress") == "ingress"
    if protocol == "any":
        what = "all traffic"
    elif protocol == "icmp":
        what = "ICMP (ping)"
    else:
        what = f"{protocol.upper()} {_ports(spec)}"
    group = spec.get("remote_group")
    cidr = spec.get("remote_cidr") or ""
    if group:
        peer = f"servers in group {group['name']}"
    elif cidr in ("", "0.0.0.0/0"):
        peer = "anywhere"
    else:
        peer = cidr
    direction = "inbound from" if inbound else "outbound to"
    family = " (IPv6)" if spec.get("ethertype") == "IPv6" else ""
    return f"Opens {what} {direction} {peer}{family}"


def is_open_ingress(spec: dict[str, Any]) -> bool:
    """Inbound from any address at all (a /0), which domains above UNCLASSIFIED refuse."""
    if spec.get("direction", "ingress") != "ingress" or spec.get("remote_group"):
        return False
    cidr = spec.get("remote_cidr") or "0.0.0.0/0"
    return ipaddress.ip_network(cidr, strict=False).prefixlen == 0


def policy_refusals(spec: dict[str, Any], domain: SecurityDomain) -> dict[str, list[str]]:
    """What the domain refuses outright in this rule, by the field to change."""
    refusals: dict[str, list[str]] = {}
    if is_open_ingress(spec) and domain.open_ingress == "forbid":
        refusals["remote_cidr"] = [
            _(
                "%(domain)s does not allow inbound traffic from anywhere: name the networks "
                "(CIDR) or the security group that need it."
            )
            % {"domain": domain.name}
        ]
    ported = (spec.get("protocol") or "any") != "icmp"  # ICMP has no ports to deny
    if spec.get("direction", "ingress") == "ingress" and ported:
        low, high = spec.get("port_min"), spec.get("port_max")
        low, high = (1, 65535) if low is None else (low, high)
        for first, last in parse_port_list(domain.denied_ports):
            if low <= last and first <= high:
                where = str(first) if first == last else f"{first}-{last}"
                name = PORT_NAMES.get(first) if first == last else None
                if name:
                    message = _(
                        "%(domain)s never opens port %(port)s (%(name)s) inbound; choose a range "
                        "without it."
                    ) % {"domain": domain.name, "port": where, "name": name}
                else:
                    message = _(
                        "%(domain)s never opens port %(port)s inbound; choose a range without it."
                    ) % {"domain": domain.name, "port": where}
                refusals.setdefault("port_min", []).append(message)
    return refusals


def needs_officer(spec: dict[str, Any], domain: SecurityDomain) -> bool:
    """Whether the domain's security officer must approve this rule after the tenant."""
    if domain.firewall_review == "officer":
        return True
    return is_open_ingress(spec) and domain.open_ingress == "officer"
