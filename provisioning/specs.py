"""What a request of each kind must say, validated with field-level messages.

Spec forms serve the service layer (every front door ends there), the browser forms and the API
alike. A valid spec is returned as plain JSON data plus what it needs of the allocation's quota.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.inputs import MAX_ID, id_form_field
from portal.models import SshKey
from portal.ssh_keys import keypair_name, parse_public_key, ssh_keys_of
from provisioning.firewall import PROTOCOLS, policy_refusals, rule_sentence
from provisioning.models import (
    IN_FLIGHT,
    CatalogPolicy,
    Flavor,
    Image,
    Kind,
    Network,
    Offering,
    ResourceRequest,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    Volume,
    VolumeType,
)
from provisioning.models.catalog import volume_size_limit
from tenants.models import Allocation
from tenants.quotas import DIMENSIONS, usage_by_allocation

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
NAME_HELP = gettext_lazy(
    "Use 1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or "
    "digit."
)
MAX_LEASE_DAYS = 365


@dataclass
class ValidSpec:
    spec: dict[str, Any]
    needs: dict[str, int] = field(default_factory=dict)


class IdListField(forms.Field):
    """A list of ids, from a JSON list, a multi-valued form field, or "1,2,3"."""

    default_error_messages = {"invalid": gettext_lazy("Give a list of ids.")}

    def to_python(self, value: Any) -> list[int]:
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(not 1 <= i <= MAX_ID for i in ids):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return ids


class ServerSpecForm(forms.Form):
    name = forms.RegexField(
        regex=NAME_PATTERN, max_length=63, error_messages={"invalid": NAME_HELP}
    )
    offering = forms.CharField(required=False, help_text=gettext_lazy("An offering's slug."))
    flavor = forms.CharField(
        required=False, help_text=gettext_lazy("A flavor name (without an offering).")
    )
    image = forms.CharField(
        required=False, help_text=gettext_lazy("An image name (without an offering).")
    )
    networks = IdListField(
        required=False, help_text=gettext_lazy("Ids of the tenant's networks here.")
    )
    security_groups = IdListField(
        required=False,
        help_text=gettext_lazy("Ids of the tenant's security groups here; none: default."),
    )
    count = forms.IntegerField(
        min_value=1, initial=1, required=False, help_text=gettext_lazy("Default 1.")
    )
    boot_volume_gb = forms.IntegerField(
        required=False,
        min_value=1,
        help_text=gettext_lazy(
            "Boot from a volume of this size (GB), made from the image and deleted with "
            "the server; empty: boot from the image on the host's disk."
        ),
    )
    ssh_key = id_form_field(
        required=False, help_text=gettext_lazy("The id of one of the requester's SSH keys.")
    )
    key_name = forms.CharField(required=False, max_length=100)  # refused: see clean_key_name
    lease_end = forms.DateTimeField(required=False)

    def __init__(
        self, *args: Any, allocation: Allocation, requester: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.allocation = allocation
        self.requester = requester
        self.fields["count"].widget.attrs["max"] = settings.PORTAL_MAX_SERVERS_PER_REQUEST

    def clean_count(self) -> int:
        count = self.cleaned_data["count"] or 1
        limit = settings.PORTAL_MAX_SERVERS_PER_REQUEST
        if count > limit:
            raise ValidationError(
                ngettext(
                    "At most %(limit)s server per request.",
                    "At most %(limit)s servers per request.",
                    limit,
                )
                % {"limit": limit}
            )
        name = self.cleaned_data.get("name") or ""
        longest = f"{name}-{count}" if count > 1 else name
        if len(longest) > 63:
            # Several servers are named name-1, name-2...: the suffix must fit too.
            raise ValidationError(
                _(
                    "With %(count)s servers the names end in -1 … -%(count)s: %(longest)s has "
                    "%(length)s characters, at most 63. Shorten the name."
                )
                % {"count": count, "longest": longest, "length": len(longest)}
            )
        return count

    def clean_key_name(self) -> str:
        if self.cleaned_data.get("key_name"):
            raise ValidationError(
                _(
                    "Key pairs are made by the portal now: add your public key to your profile "
                    "(/account/keys/ or POST /api/v1/ssh-keys/) and give its id as ssh_key."
                )
            )
        return ""

    def clean_ssh_key(self) -> SshKey | None:
        key_id = self.cleaned_data.get("ssh_key")
        if key_id is None:
            return None
        key = None
        if self.requester is not None:
            key = ssh_keys_of(self.requester).filter(pk=key_id).first()
        if key is None:
            # Another user's key answers like a missing one: keys are personal.
            raise ValidationError(
                _("No key %(key)s among your SSH keys; add it at /account/keys/ first.")
                % {"key": key_id}
            )
        return key

    def clean_lease_end(self):
        lease_end = self.cleaned_data.get("lease_end")
        if lease_end is None:
            return None
        now = timezone.now()
        if lease_end <= now + timedelta(hours=1):
            raise ValidationError(_("The lease must end at least an hour from now."))
        if lease_end > now + timedelta(days=MAX_LEASE_DAYS):
            raise ValidationError(
                _("A lease can last at most %(days)s days.") % {"days": MAX_LEASE_DAYS}
            )
        return lease_end

    def clean_networks(self) -> list[Network]:
        ids = self.cleaned_data["networks"]
        if not ids:
            raise ValidationError(_("Choose at least one network for the server to attach to."))
        found = {
            n.pk: n for n in Network.objects.live().filter(allocation=self.allocation, pk__in=ids)
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError(
                _("No network %(ids)s of this tenant in %(region)s.")
                % {"ids": ", ".join(map(str, missing)), "region": self.allocation.region}
            )
        return [found[i] for i in ids]

    def clean_security_groups(self) -> list[SecurityGroup]:
        ids = self.cleaned_data["security_groups"]
        found = {
            g.pk: g
            for g in SecurityGroup.objects.live().filter(allocation=self.allocation, pk__in=ids)
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError(
                _("No security group %(ids)s of this tenant in %(region)s.")
                % {"ids": ", ".join(map(str, missing)), "region": self.allocation.region}
            )
        return [found[i] for i in dict.fromkeys(ids)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        region = self.allocation.region
        offering_slug = data.get("offering")
        flavor_name, image_name = data.get("flavor"), data.get("image")
        if offering_slug:
            offering = Offering.objects.filter(
                slug=offering_slug, active=True, regions=region
            ).first()
            if offering is None:
                self.add_error(
                    "offering",
                    _("No offering %(offering)s in %(region)s.")
                    % {"offering": repr(offering_slug), "region": region},
                )
                return data
            flavor_name, image_name = offering.flavor_name, offering.image_name
        elif not (flavor_name and image_name):
            if not flavor_name:
                self.add_error("flavor", _("Choose an offering, or a flavor and an image."))
            if not image_name:
                self.add_error("image", _("Choose an offering, or a flavor and an image."))
            return data
        flavor = Flavor.objects.filter(region=region, name=flavor_name, active=True).first()
        if flavor is None:
            known = ", ".join(
                Flavor.objects.filter(region=region, active=True).values_list("name", flat=True)
            )
            self.add_error(
                "offering" if offering_slug else "flavor",
                _("No flavor %(flavor)s in %(region)s. Available: %(known)s.")
                % {
                    "flavor": repr(flavor_name),
                    "region": region,
                    "known": known or _("none synced"),
                },
            )
        image = Image.objects.filter(region=region, name=image_name, active=True).first()
        if image is None:
            self.add_error(
                "offering" if offering_slug else "image",
                _("No image %(image)s in %(region)s.")
                % {"image": repr(image_name), "region": region},
            )
        data["flavor_obj"], data["image_obj"] = flavor, image
        self._check_catalog_policy(offering_slug, flavor, image)
        boot = data.get("boot_volume_gb")
        if boot and image is not None and boot < image.min_disk_gb:
            self.add_error(
                "boot_volume_gb",
                _("%(image)s needs a disk of at least %(size)s GB.")
                % {"image": image.name, "size": image.min_disk_gb},
            )
        elif boot and boot > volume_size_limit(None):
            self.add_error(
                "boot_volume_gb",
                _("A volume can hold at most %(limit)s GB.") % {"limit": volume_size_limit(None)},
            )
        return data

    def _check_catalog_policy(self, offering_slug: str, flavor, image) -> None:
        """The domain's (or the allocation's) catalog: offerings only, allowed names."""
        policy = CatalogPolicy.for_allocation(self.allocation)
        if policy is None:
            return
        where = self.allocation.region.domain.name
        if policy.offerings_only and not offering_slug:
            self.add_error(
                "offering",
                _("In %(domain)s, servers are built from an offering.") % {"domain": where},
            )
        field = "offering" if offering_slug else "flavor"
        if flavor is not None and not policy.allows("flavors", flavor.name):
            self.add_error(
                field,
                _("%(domain)s does not offer flavor %(flavor)s; allowed: %(allowed)s.")
                % {
                    "domain": where,
                    "flavor": flavor.name,
                    "allowed": ", ".join(policy.allowed("flavors")),
                },
            )
        if image is not None and not policy.allows("images", image.name):
            self.add_error(
                "offering" if offering_slug else "image",
                _("%(domain)s does not offer image %(image)s; allowed: %(allowed)s.")
                % {
                    "domain": where,
                    "image": image.name,
                    "allowed": ", ".join(policy.allowed("images")),
                },
            )

    def valid_spec(self) -> ValidSpec:
        data = self.cleaned_data
        flavor, image, count = data["flavor_obj"], data["image_obj"], data["count"]
        spec = {
            "name": data["name"],
            "offering": data.get("offering") or "",
            "flavor": flavor.name,
            "flavor_id": flavor.backend_id,
            "image": image.name,
            "image_id": image.backend_id,
            "vcpus": flavor.vcpus,
            "ram_mb": flavor.ram_mb,
            "networks": [
                {"id": n.pk, "backend_id": n.backend_id, "name": n.name} for n in data["networks"]
            ],
            "count": count,
            "security_groups": [
                {"id": g.pk, "backend_id": g.backend_id, "name": g.name}
                for g in data.get("security_groups") or []
            ],
            "ssh_key": ssh_key_spec(data.get("ssh_key"), self.allocation),
            "lease_end": data["lease_end"].isoformat() if data.get("lease_end") else None,
        }
        needs = {"instances": count, "vcpus": count * flavor.vcpus, "ram_mb": count * flavor.ram_mb}
        if data.get("boot_volume_gb"):
            spec["boot_volume_gb"] = data["boot_volume_gb"]
            needs.update(volumes=count, gigabytes=count * data["boot_volume_gb"])
        return ValidSpec(spec, needs)


def ssh_key_spec(key: SshKey | None, allocation: Allocation) -> dict[str, Any] | None:
    """What a server request keeps of the key: enough to build without the profile's row.

    The key is copied, not referenced, so removing it from the profile later neither changes
    what was approved nor stops a retry from building the same server.
    """
    if key is None:
        return None
    return {
        "id": key.pk,
        "name": key.name,
        "fingerprint": key.fingerprint,
        "key_type": key.key_type,
        "public_key": parse_public_key(key.public_key).openssh,
        "keypair": keypair_name(allocation.pk, key.fingerprint),
    }


class NetworkSpecForm(forms.Form):
    name = forms.RegexField(
        regex=NAME_PATTERN, max_length=63, error_messages={"invalid": NAME_HELP}
    )
    cidr = forms.CharField(
        max_length=43, help_text=gettext_lazy("A private IPv4 range, e.g. 10.20.0.0/24.")
    )
    gateway = forms.GenericIPAddressField(protocol="IPv4", required=False)
    dns = forms.CharField(
        required=False, help_text=gettext_lazy("Up to five DNS servers, comma-separated.")
    )
    router = forms.BooleanField(
        required=False,
        initial=True,
        help_text=gettext_lazy("Connect to the external network through a router."),
    )

    def __init__(self, *args: Any, allocation: Allocation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allocation = allocation

    def clean_router(self) -> bool:
        # Not said is "yes", as the page's box starts ticked: the API and the page agree.
        return self.cleaned_data["router"] if "router" in self.data else True

    def clean_cidr(self) -> ipaddress.IPv4Network:
        raw = self.cleaned_data["cidr"].strip()
        try:
            network = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise ValidationError(
                _("%(value)s is not an IPv4 range such as 10.20.0.0/24.") % {"value": repr(raw)}
            ) from None
        if network.version != 4:
            raise ValidationError(_("Only IPv4 ranges are offered."))
        if str(network) != raw:
            raise ValidationError(
                _("%(value)s has host bits set; did you mean %(network)s?")
                % {"value": raw, "network": network}
            )
        if not network.is_private:
            raise ValidationError(_("Use a private range (10/8, 172.16/12 or 192.168/16)."))
        if not 16 <= network.prefixlen <= 29:
            raise ValidationError(_("The prefix must be between /16 and /29."))
        for other in self._cidrs_in_use():
            if network.overlaps(other):
                raise ValidationError(
                    _("%(network)s overlaps %(other)s, already used by this tenant in %(region)s.")
                    % {"network": network, "other": other, "region": self.allocation.region}
                )
        return network

    def _cidrs_in_use(self) -> list[ipaddress.IPv4Network]:
        live = (
            Network.objects.live().filter(allocation=self.allocation).values_list("cidr", flat=True)
        )
        pending = ResourceRequest.objects.filter(
            allocation=self.allocation, kind=Kind.NETWORK, state__in=IN_FLIGHT
        ).values_list("spec__cidr", flat=True)
        return [ipaddress.ip_network(c) for c in [*live, *pending] if c]

    def clean_dns(self) -> list[str]:
        raw = [v.strip() for v in (self.cleaned_data.get("dns") or "").split(",") if v.strip()]
        if len(raw) > 5:
            raise ValidationError(_("At most five DNS servers."))
        for value in raw:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise ValidationError(
                    _("%(value)s is not an IPv4 address.") % {"value": repr(value)}
                ) from None
        return raw

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        network, gateway = data.get("cidr"), data.get("gateway")
        if network is not None and gateway:
            address = ipaddress.IPv4Address(gateway)
            if address not in network or address in (
                network.network_address,
                network.broadcast_address,
            ):
                self.add_error(
                    "gateway",
                    _("The gateway must be a host address in %(network)s.") % {"network": network},
                )
        return data

    def valid_spec(self) -> ValidSpec:
        data = self.cleaned_data
        network = data["cidr"]
        gateway = data.get("gateway") or str(next(network.hosts()))
        spec = {
            "name": data["name"],
            "cidr": str(network),
            "gateway": gateway,
            "dns": data["dns"],
            "router": bool(data.get("router")),
        }
        return ValidSpec(spec, {"networks": 1, "routers": 1 if spec["router"] else 0})


class ResizeSpecForm(forms.Form):
    """A new flavor for a server: another one of its region, with a disk at least as large."""

    flavor = forms.CharField(max_length=100, help_text=gettext_lazy("The name of the new flavor."))

    def __init__(self, *args: Any, target: Server, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = target

    def clean_flavor(self) -> Flavor:
        name, server = self.cleaned_data["flavor"], self.server
        region = server.allocation.region
        offered = Flavor.objects.filter(region=region, active=True)
        flavor = offered.filter(name=name).first()
        if flavor is None:
            others = offered.exclude(name=server.flavor_name).values_list("name", flat=True)
            known = ", ".join(others)
            raise ValidationError(
                _("No flavor %(flavor)s in %(region)s. Available: %(known)s.")
                % {"flavor": repr(name), "region": region, "known": known or _("none")}
            )
        if flavor.name == server.flavor_name:
            raise ValidationError(
                _("%(server)s already runs as %(flavor)s.")
                % {"server": server, "flavor": flavor.name}
            )
        policy = CatalogPolicy.for_allocation(server.allocation)
        if policy is not None and not policy.allows("flavors", flavor.name):
            raise ValidationError(
                _("%(domain)s does not offer flavor %(flavor)s; allowed: %(allowed)s.")
                % {
                    "domain": region.domain.name,
                    "flavor": flavor.name,
                    "allowed": ", ".join(policy.allowed("flavors")),
                }
            )
        current = offered.filter(name=server.flavor_name).first()
        if current is not None and 0 < flavor.disk_gb < current.disk_gb:
            raise ValidationError(
                _(
                    "%(flavor)s's disk (%(size)s GB) is smaller than %(server)s's "
                    "(%(current)s GB): a disk cannot be shrunk. Choose a larger flavor."
                )
                % {
                    "flavor": flavor.name,
                    "size": flavor.disk_gb,
                    "server": server,
                    "current": current.disk_gb,
                }
            )
        return flavor

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.server.status not in ("ACTIVE", "SHUTOFF"):
            raise ValidationError(
                _("%(server)s is %(status)s; only a running or stopped server can be resized.")
                % {"server": self.server, "status": self.server.status}
            )
        return data

    def valid_spec(self) -> ValidSpec:
        flavor, server = self.cleaned_data["flavor"], self.server
        spec = {
            "target": server.name,
            "flavor": flavor.name,
            "flavor_id": flavor.backend_id,
            "vcpus": flavor.vcpus,
            "ram_mb": flavor.ram_mb,
            "from_flavor": server.flavor_name,
            "from_vcpus": server.vcpus,
            "from_ram_mb": server.ram_mb,
        }
        # Only growth needs quota; a smaller flavor frees it once the resize is done.
        needs = {
            "vcpus": max(flavor.vcpus - server.vcpus, 0),
            "ram_mb": max(flavor.ram_mb - server.ram_mb, 0),
        }
        return ValidSpec(spec, needs)


class RuleSpecForm(forms.Form):
    """One opening of a security group: direction, protocol, ports, and from (or to) where."""

    direction = forms.ChoiceField(
        choices=[("ingress", gettext_lazy("inbound")), ("egress", gettext_lazy("outbound"))],
        required=False,
        help_text=gettext_lazy("Default: ingress (inbound)."),
    )
    protocol = forms.ChoiceField(choices=[(p, p) for p in PROTOCOLS], initial="tcp")
    port_min = forms.IntegerField(required=False, min_value=1, max_value=65535)
    port_max = forms.IntegerField(required=False, min_value=1, max_value=65535)
    remote_cidr = forms.CharField(required=False, max_length=43)
    remote_group = id_form_field(required=False)
    description = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, target: SecurityGroup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = target

    def clean_direction(self) -> str:
        return self.cleaned_data.get("direction") or "ingress"

    def clean_remote_cidr(self) -> str:
        raw = (self.cleaned_data.get("remote_cidr") or "").strip()
        if not raw:
            return ""
        try:
            network = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise ValidationError(
                _("%(value)s is not an IPv4 range such as 10.20.0.0/24.") % {"value": repr(raw)}
            ) from None
        if network.version != 4:
            raise ValidationError(_("Only IPv4 ranges are offered."))
        if raw != str(network) and raw != str(network.network_address):
            raise ValidationError(
                _("%(value)s has host bits set; did you mean %(network)s?")
                % {"value": raw, "network": network}
            )
        return str(network)

    def clean_remote_group(self) -> SecurityGroup | None:
        group_id = self.cleaned_data.get("remote_group")
        if group_id is None:
            return None
        found = (
            SecurityGroup.objects.live()
            .filter(allocation_id=self.group.allocation_id, pk=group_id)
            .first()
        )
        if found is None:
            raise ValidationError(
                _("No security group %(ids)s of this tenant in %(region)s.")
                % {"ids": group_id, "region": self.group.allocation.region}
            )
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        protocol = data.get("protocol")
        low, high = data.get("port_min"), data.get("port_max")
        if protocol in ("icmp", "any"):
            if low is not None or high is not None:
                self.add_error(
                    "port_min",
                    _("%(protocol)s has no ports: leave them empty.")
                    % {"protocol": protocol.upper()},
                )
        elif protocol:
            if low is None and high is not None:
                self.add_error("port_min", _("Give the first port of the range too."))
            elif low is not None and high is not None and high < low:
                self.add_error(
                    "port_max",
                    _("The range ends before it starts (%(low)s-%(high)s).")
                    % {"low": low, "high": high},
                )
            elif low is not None and high is None:
                data["port_max"] = low
        if "remote_cidr" in data and "remote_group" in data:
            if data["remote_cidr"] and data["remote_group"]:
                self.add_error("remote_group", _("Give a CIDR or a security group, not both."))
            elif not data["remote_cidr"] and not data["remote_group"]:
                self.add_error(
                    "remote_cidr",
                    _(
                        "Say where traffic may come from (or go to): a CIDR such as 10.0.0.0/8 "
                        "(0.0.0.0/0 for anywhere) or a security group."
                    ),
                )
        if not self.errors:
            spec = self._spec(data)
            for field, messages in policy_refusals(
                spec, self.group.allocation.region.domain
            ).items():
                for message in messages:
                    self.add_error(field, message)
            if self.group.rules.live().filter(**_rule_lookup(spec)).exists():
                self.add_error(
                    None,
                    _("%(group)s already has this rule: %(rule)s.")
                    % {"group": self.group, "rule": rule_sentence(spec)},
                )
        return data

    def _spec(self, data: dict[str, Any]) -> dict[str, Any]:
        group = data.get("remote_group")
        protocol = data["protocol"]
        return {
            "target": self.group.name,
            "direction": data["direction"],
            "protocol": "" if protocol == "any" else protocol,
            "port_min": data.get("port_min"),
            "port_max": data.get("port_max"),
            "remote_cidr": data.get("remote_cidr") or "",
            "remote_group": {"id": group.pk, "backend_id": group.backend_id, "name": group.name}
            if group
            else None,
            "description": data.get("description") or "",
        }

    def valid_spec(self) -> ValidSpec:
        spec = self._spec(self.cleaned_data)
        spec["sentence"] = rule_sentence(spec)
        servers = self.group.servers.live().order_by("name").values_list("name", flat=True)
        names = list(servers[:AFFECTS_SHOWN])
        spec["affects"] = {"count": servers.count() if len(names) == AFFECTS_SHOWN else len(names),
                           "names": names}  # fmt: skip
        return ValidSpec(spec, {})


class RuleRemoveSpecForm(forms.Form):
    """Which approved rule of the group to close."""

    rule = id_form_field(help_text=gettext_lazy("The id of one of the group's rules."))

    def __init__(self, *args: Any, target: SecurityGroup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = target

    def clean_rule(self) -> SecurityGroupRule:
        rule_id = self.cleaned_data["rule"]
        rule = self.group.rules.live().select_related("remote_group").filter(pk=rule_id).first()
        if rule is None:
            raise ValidationError(
                _("%(group)s has no rule %(rule)s.") % {"group": self.group, "rule": rule_id}
            )
        closing = ResourceRequest.objects.filter(
            target_security_group=self.group, kind=Kind.SECURITY_GROUP_RULE_REMOVE,
            state__in=IN_FLIGHT, spec__rule=rule.pk,
        ).values_list("pk", flat=True).first()  # fmt: skip
        if closing:
            raise ValidationError(
                _("Request #%(request)s is already closing this rule.") % {"request": closing}
            )
        return rule

    def valid_spec(self) -> ValidSpec:
        rule = self.cleaned_data["rule"]
        sentence = str(rule)
        closes = "Closes" + sentence.removeprefix("Opens")
        spec = {"target": self.group.name, "rule": rule.pk, "backend_id": rule.backend_id,
                "opens": sentence, "sentence": closes}  # fmt: skip
        return ValidSpec(spec, {})


#: How many of the servers a rule affects are named in the request (the count is always kept).
AFFECTS_SHOWN = 10


def _rule_lookup(spec: dict[str, Any]) -> dict[str, Any]:
    group = spec.get("remote_group")
    return {
        "direction": spec["direction"],
        "protocol": spec["protocol"],
        "port_min": spec["port_min"],
        "port_max": spec["port_max"],
        "remote_cidr": spec["remote_cidr"],
        "remote_group_id": group["id"] if group else None,
    }


class SecurityGroupSpecForm(forms.Form):
    name = forms.RegexField(
        regex=NAME_PATTERN, max_length=63, error_messages={"invalid": NAME_HELP}
    )
    description = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, allocation: Allocation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allocation = allocation

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name == "default":
            raise ValidationError(
                _("Every project has a group named default; choose another name.")
            )
        taken = SecurityGroup.objects.live().filter(allocation=self.allocation, name=name).exists()
        pending = ResourceRequest.objects.filter(
            allocation=self.allocation, kind=Kind.SECURITY_GROUP, state__in=IN_FLIGHT,
            spec__name=name,
        ).exists()  # fmt: skip
        if taken or pending:
            raise ValidationError(
                _("This tenant already has a security group %(name)s in %(region)s.")
                % {"name": name, "region": self.allocation.region}
            )
        return name

    def valid_spec(self) -> ValidSpec:
        data = self.cleaned_data
        return ValidSpec({"name": data["name"], "description": data.get("description") or ""})


# --- volumes --------------------------------------------------------------------------------


class VolumeSpecForm(forms.Form):
    """A new volume: its name, size and (optionally) a type of the region's synced catalog."""

    name = forms.RegexField(
        regex=NAME_PATTERN, max_length=63, error_messages={"invalid": NAME_HELP}
    )
    size_gb = forms.IntegerField(
        min_value=1, error_messages={"min_value": gettext_lazy("A volume holds at least 1 GB.")}
    )
    volume_type = forms.CharField(
        required=False,
        max_length=100,
        help_text=gettext_lazy("A volume type's name; empty: the default."),
    )
    description = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, allocation: Allocation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allocation = allocation

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = Volume.objects.live().filter(allocation=self.allocation, name=name).exists()
        pending = ResourceRequest.objects.filter(
            allocation=self.allocation, kind=Kind.VOLUME, state__in=IN_FLIGHT, spec__name=name
        ).exists()
        if taken or pending:
            raise ValidationError(
                _("This tenant already has a volume %(name)s in %(region)s.")
                % {"name": name, "region": self.allocation.region}
            )
        return name

    def clean_volume_type(self) -> VolumeType | None:
        name = self.cleaned_data.get("volume_type") or ""
        region = self.allocation.region
        offered = VolumeType.objects.filter(region=region, active=True)
        policy = CatalogPolicy.for_allocation(self.allocation)
        allowed = policy.allowed("volume_types") if policy else []
        if not name:
            if allowed:
                raise ValidationError(
                    _("In %(domain)s, choose a volume type: %(allowed)s.")
                    % {"domain": region.domain.name, "allowed": ", ".join(allowed)}
                )
            return None
        volume_type = offered.filter(name=name).first()
        if volume_type is None:
            known = ", ".join(offered.values_list("name", flat=True))
            raise ValidationError(
                _("No volume type %(name)s in %(region)s. Available: %(known)s.")
                % {"name": repr(name), "region": region, "known": known or _("none synced")}
            )
        if allowed and name not in allowed:
            raise ValidationError(
                _("%(domain)s does not offer volume type %(name)s; allowed: %(allowed)s.")
                % {"domain": region.domain.name, "name": name, "allowed": ", ".join(allowed)}
            )
        return volume_type

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        size, volume_type = data.get("size_gb"), data.get("volume_type")
        limit = volume_size_limit(volume_type)
        if size and size > limit:
            if volume_type:
                message = _("A volume of type %(type)s holds at most %(limit)s GB.") % {
                    "type": volume_type,
                    "limit": limit,
                }
            else:
                message = _("A volume holds at most %(limit)s GB.") % {"limit": limit}
            self.add_error("size_gb", message)
        return data

    def valid_spec(self) -> ValidSpec:
        data = self.cleaned_data
        volume_type = data.get("volume_type")
        spec = {
            "name": data["name"],
            "size_gb": data["size_gb"],
            "volume_type": volume_type.name if volume_type else "",
            "description": data.get("description") or "",
        }
        return ValidSpec(spec, {"volumes": 1, "gigabytes": data["size_gb"]})


def _volume_server(volume: Volume) -> dict[str, Any] | None:
    server = volume.server
    if server is None:
        return None
    return {"id": server.pk, "backend_id": server.backend_id, "name": server.name}


class _OnVolumeForm(forms.Form):
    """What a day-2 request on a volume says, checked against the volume as it is now."""

    def __init__(self, *args: Any, target: Volume, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.volume = target

    def _detached_and_available(self, attached: str, unavailable: str) -> None:
        """``attached`` and ``unavailable``: the messages, with %(volume)s, %(server)s and
        %(status)s to fill in."""
        volume = self.volume
        if volume.server_id:
            raise ValidationError(attached % {"volume": volume, "server": volume.server})
        if volume.status != "available":
            raise ValidationError(unavailable % {"volume": volume, "status": volume.status})


class VolumeAttachSpecForm(_OnVolumeForm):
    """Which server of the volume's allocation to attach it to."""

    server = id_form_field(
        help_text=gettext_lazy("The id of a server of the same tenant and region.")
    )

    def clean_server(self) -> Server:
        server_id, volume = self.cleaned_data["server"], self.volume
        server = Server.objects.live().filter(allocation_id=volume.allocation_id, pk=server_id)
        server = server.first()
        if server is None:
            raise ValidationError(
                _(
                    "No server %(server)s of this tenant in %(region)s: a volume is attached to "
                    "a server of its own tenant and region."
                )
                % {"server": server_id, "region": volume.allocation.region}
            )
        if server.status not in ("ACTIVE", "SHUTOFF"):
            raise ValidationError(
                _("%(server)s is %(status)s; a volume is attached to a running or stopped server.")
                % {"server": server, "status": server.status}
            )
        return server

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._detached_and_available(
            _(
                "%(volume)s is attached to %(server)s; detach it first (a volume is on one "
                "server at a time)."
            ),
            _("%(volume)s is %(status)s; only an available volume can be attached."),
        )
        return data

    def valid_spec(self) -> ValidSpec:
        server = self.cleaned_data["server"]
        spec = {
            "target": self.volume.name,
            "server": {"id": server.pk, "backend_id": server.backend_id, "name": server.name},
            "sentence": f"Attach {self.volume} ({self.volume.size_gb} GB) to {server}",
        }
        return ValidSpec(spec, {})


class VolumeDetachSpecForm(_OnVolumeForm):
    """Nothing to say but the volume: it is detached from the server it is on."""

    def clean(self) -> dict[str, Any]:
        if self.volume.server_id is None:
            raise ValidationError(
                _("%(volume)s is not attached to a server.") % {"volume": self.volume}
            )
        return super().clean()

    def valid_spec(self) -> ValidSpec:
        server = _volume_server(self.volume)
        spec = {
            "target": self.volume.name,
            "server": server,
            "sentence": f"Detach {self.volume} from {server['name']}",
        }
        return ValidSpec(spec, {})


class VolumeExtendSpecForm(_OnVolumeForm):
    """A larger size for a detached volume (volumes do not shrink)."""

    size_gb = forms.IntegerField(min_value=1, help_text=gettext_lazy("The new size in GB."))

    def clean_size_gb(self) -> int:
        size, volume = self.cleaned_data["size_gb"], self.volume
        if size <= volume.size_gb:
            raise ValidationError(
                _(
                    "%(volume)s holds %(size)s GB already; give a larger size (a volume cannot "
                    "be shrunk)."
                )
                % {"volume": volume, "size": volume.size_gb}
            )
        volume_type = VolumeType.objects.filter(
            region_id=volume.allocation.region_id, name=volume.volume_type
        ).first()
        limit = volume_size_limit(volume_type)
        if size > limit:
            raise ValidationError(
                _("A volume of this type holds at most %(limit)s GB.") % {"limit": limit}
            )
        return size

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._detached_and_available(
            _(
                "%(volume)s is attached to %(server)s; detach it first: volumes are extended "
                "while detached, then attached again."
            ),
            _("%(volume)s is %(status)s; only an available volume can be extended."),
        )
        return data

    def valid_spec(self) -> ValidSpec:
        size, volume = self.cleaned_data["size_gb"], self.volume
        spec = {
            "target": volume.name,
            "size_gb": size,
            "from_size_gb": volume.size_gb,
            "volume_type": volume.volume_type,
            "sentence": f"Extend {volume} from {volume.size_gb} GB to {size} GB",
        }
        return ValidSpec(spec, {"gigabytes": size - volume.size_gb})


class VolumeDecommissionSpecForm(_OnVolumeForm):
    """Delete the volume: refused while attached, unless detaching first is asked for."""

    detach = forms.BooleanField(
        required=False,
        help_text=gettext_lazy("Detach it from its server first (else refused while attached)."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        volume = self.volume
        if volume.server_id and not data.get("detach"):
            self.add_error(
                "detach",
                _(
                    "%(volume)s is attached to %(server)s: it is not deleted while a server uses "
                    "it. Detach it first, or ask for it to be detached as part of this request."
                )
                % {"volume": volume, "server": volume.server},
            )
        return data

    def valid_spec(self) -> ValidSpec:
        server, volume = _volume_server(self.volume), self.volume
        deletes = f"delete {volume} ({volume.size_gb} GB) and all its data"
        first = f"Detach {volume} from {server['name']}, then " if server else ""
        spec = {
            "target": volume.name,
            "detach_from": server,
            "sentence": (first + deletes)[0].upper() + (first + deletes)[1:],
        }
        return ValidSpec(spec, {})


#: The most a quota change may ask for in one dimension: a typing slip, not capacity.
QUOTA_CEILING = 1_000_000


class QuotaChangeSpecForm(forms.Form):
    """New limits for some of an allocation's quotas: never below what is in use (or asked for
    by requests in flight), and at least one that changes."""

    def __init__(self, *args: Any, allocation: Allocation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allocation = allocation
        for dimension in DIMENSIONS:
            self.fields[dimension.key] = forms.IntegerField(
                required=False, min_value=0, max_value=QUOTA_CEILING, label=dimension.label
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        usage = usage_by_allocation([self.allocation]).get(self.allocation.pk, [])
        used = {u.dimension.key: u.used for u in usage}
        self.changes = {}
        for dimension in DIMENSIONS:
            wanted = data.get(dimension.key)
            current = getattr(self.allocation, dimension.key)
            if wanted is None or wanted == current:
                continue
            if wanted < used.get(dimension.key, 0):
                self.add_error(dimension.key, ngettext(
                    "%(used)s is in use or asked for by requests in flight: the limit cannot "
                    "go below that.",
                    "%(used)s are in use or asked for by requests in flight: the limit cannot "
                    "go below that.",
                    used[dimension.key],
                ) % {"used": used[dimension.key]})  # fmt: skip
                continue
            self.changes[dimension.key] = (current, wanted, used.get(dimension.key, 0))
        if not self.errors and not self.changes:
            raise ValidationError(
                _("Give at least one new limit that differs from today's."), code="unchanged"
            )
        return data

    def valid_spec(self) -> ValidSpec:
        sentence = (
            "Quota of "
            + str(self.allocation)
            + ": "
            + "; ".join(f"{key} {old} -> {new}" for key, (old, new, _used) in self.changes.items())
        )
        spec = {
            "target": str(self.allocation),
            "limits": {key: new for key, (_old, new, _used) in self.changes.items()},
            "from": {key: old for key, (old, _new, _used) in self.changes.items()},
            "used": {key: used for key, (_old, _new, used) in self.changes.items()},
            "sentence": sentence,
        }
        return ValidSpec(spec, {})


class LeaseExtendSpecForm(forms.Form):
    """A later end for a server's lease, within the longest lease there is from now."""

    lease_end = forms.DateTimeField()

    def __init__(self, *args: Any, target: Server, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = target

    def clean_lease_end(self):
        lease_end = self.cleaned_data["lease_end"]
        current, now = self.server.lease_end, timezone.now()
        if current is None:
            raise ValidationError(_("%(server)s has no lease: it runs until it is "
                                    "decommissioned.") % {"server": self.server})  # fmt: skip
        if lease_end <= max(current, now):
            raise ValidationError(
                _("The new end must be after the lease's current end (%(end)s).")
                % {"end": timezone.localtime(current).strftime("%Y-%m-%d %H:%M")}
            )
        if lease_end > now + timedelta(days=MAX_LEASE_DAYS):
            raise ValidationError(
                _("A lease can last at most %(days)s days.") % {"days": MAX_LEASE_DAYS}
            )
        return lease_end

    def valid_spec(self) -> ValidSpec:
        lease_end, current = self.cleaned_data["lease_end"], self.server.lease_end
        days = (lease_end - current).total_seconds() / 86400
        lease_end, current = lease_end.astimezone(UTC), current.astimezone(UTC)
        spec = {
            "target": self.server.name,
            "lease_end": lease_end.isoformat(),
            "from_lease_end": current.isoformat(),
            "sentence": (
                f"Extend the lease of {self.server.name} from {current:%Y-%m-%d %H:%M} to "
                f"{lease_end:%Y-%m-%d %H:%M} UTC (+{days:.1f} days)"
            ),
        }
        return ValidSpec(spec, {})


#: Day-2 kinds that say more than their target, validated against it.
DAY2_SPEC_FORMS: dict[str, type[forms.Form]] = {
    Kind.SERVER_RESIZE: ResizeSpecForm,
    Kind.SECURITY_GROUP_RULE: RuleSpecForm,
    Kind.SECURITY_GROUP_RULE_REMOVE: RuleRemoveSpecForm,
    Kind.VOLUME_ATTACH: VolumeAttachSpecForm,
    Kind.VOLUME_DETACH: VolumeDetachSpecForm,
    Kind.VOLUME_EXTEND: VolumeExtendSpecForm,
    Kind.VOLUME_DECOMMISSION: VolumeDecommissionSpecForm,
    Kind.LEASE_EXTEND: LeaseExtendSpecForm,
}


def validate_day2_spec(kind: Kind | str, data: dict[str, Any], target: Any) -> ValidSpec:
    """Validate what a day-2 request of ``kind`` says about its target, by field."""
    form = DAY2_SPEC_FORMS[Kind(kind)](data=data, target=target)
    if not form.is_valid():
        errors = form.errors.as_data()
        # What concerns the server as a whole is said of the request's target.
        if NON_FIELD_ERRORS in errors:
            errors["target"] = errors.pop(NON_FIELD_ERRORS)
        raise ValidationError(errors)
    return form.valid_spec()


SPEC_FORMS: dict[str, type[forms.Form]] = {
    Kind.SERVER: ServerSpecForm,
    Kind.NETWORK: NetworkSpecForm,
    Kind.SECURITY_GROUP: SecurityGroupSpecForm,
    Kind.VOLUME: VolumeSpecForm,
    Kind.QUOTA_CHANGE: QuotaChangeSpecForm,
}


def validate_spec(
    kind: Kind | str, data: dict[str, Any], allocation: Allocation, *, requester: Any = None
) -> ValidSpec:
    """Validate ``data`` for a new resource of ``kind``; raises ValidationError by field.

    ``requester`` is whose profile a server's SSH key comes from.
    """
    kind = Kind(kind)
    extra = {"requester": requester} if kind == Kind.SERVER else {}
    form = SPEC_FORMS[kind](data=data, allocation=allocation, **extra)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return form.valid_spec()
