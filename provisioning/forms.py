"""Browser forms for new requests. They gather input; the spec forms and services decide."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from portal.models import SshKey
from portal.ssh_keys import ssh_keys_of
from provisioning.models import (
    CatalogPolicy,
    Flavor,
    Image,
    Network,
    Offering,
    SecurityGroup,
    VolumeType,
)
from provisioning.specs import NAME_HELP, NAME_PATTERN
from tenants.access import Action
from tenants.models import Allocation
from tenants.selectors import allocations_visible_to

NAME_ERROR = format_lazy("{} {}", _("Not a valid name."), NAME_HELP)


#: A date typed the same way in every language and browser.
ISO_DATE_ATTRS = {
    "placeholder": "YYYY-MM-DD",
    "pattern": r"\d{4}-\d{2}-\d{2}",
    "inputmode": "numeric",
    "autocomplete": "off",
    "maxlength": "10",
}


class AllocationField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Allocation) -> str:
        region = obj.region
        return f"{obj.tenant.name} — {region.site.name} / {region.domain.name}"


class SshKeyField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SshKey) -> str:
        return f"{obj.name} ({obj.key_type.removeprefix('ssh-')}, {obj.fingerprint})"


class RequestForm(forms.Form):
    """Fields every request has; subclasses add the kind's own and say how to build the spec."""

    allocation = AllocationField(
        queryset=Allocation.objects.none(),
        label=_("Allocation"),
        help_text=_("The tenant and the site / security domain to build in."),
        empty_label=_("— choose —"),
    )
    name = forms.RegexField(
        label=_("Name"),
        regex=NAME_PATTERN,
        max_length=63,
        help_text=NAME_HELP,
        error_messages={"invalid": NAME_ERROR},
    )
    justification = forms.CharField(
        label=_("Justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why this is needed: approvers decide on it."),
    )

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["allocation"].queryset = allocations_visible_to(user, Action.REQUEST).filter(
            region__enabled=True
        )
        self.selected_allocation = self._selected_allocation()

    def _selected_allocation(self) -> Allocation | None:
        raw = self.data.get(self.add_prefix("allocation")) or self.initial.get("allocation")
        if not raw:
            return None
        try:
            return (
                self.fields["allocation"]
                .queryset.filter(pk=int(str(getattr(raw, "pk", raw))))
                .first()
            )
        except ValueError:
            return None

    def spec(self) -> dict[str, Any]:
        raise NotImplementedError


class ServerRequestForm(RequestForm):
    offering = forms.ModelChoiceField(
        queryset=Offering.objects.none(),
        to_field_name="slug",
        required=False,
        label=_("Offering"),
        empty_label=_("— none: choose a flavor and an image —"),
    )
    flavor = forms.ChoiceField(label=_("Flavor"), required=False, choices=[("", "—")])
    image = forms.ChoiceField(label=_("Image"), required=False, choices=[("", "—")])
    networks = forms.ModelMultipleChoiceField(
        queryset=Network.objects.none(),
        label=_("Networks"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The tenant's networks in this region; request one first if there is none."),
    )
    count = forms.IntegerField(label=_("Count"), min_value=1, initial=1)
    boot_volume_gb = forms.IntegerField(
        label=_("Boot from a volume of (GB)"),
        min_value=1,
        required=False,
        help_text=_(
            "Optional: the server's disk is a volume made from the image (it survives a "
            "host failure; deleted with the server). Empty: the image on the host's disk."
        ),
    )
    lease_end = forms.DateField(
        label=_("Lease ends"),
        required=False,
        # A text field in ISO form, not the browser's date picker: the picker writes dates in
        # the browser's locale, which need not be the page's language or the reader's.
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(format="%Y-%m-%d", attrs=ISO_DATE_ATTRS),
        help_text=_(
            "Optional, as YYYY-MM-DD: the server is decommissioned at the end of that day (UTC)."
        ),
    )
    security_groups = forms.ModelMultipleChoiceField(
        queryset=SecurityGroup.objects.none(),
        label=_("Security groups"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The firewall openings the servers get; none: the project's default group."),
    )
    ssh_key = SshKeyField(
        queryset=SshKey.objects.none(),
        label=_("SSH key"),
        required=False,
        empty_label=_("— none —"),
        help_text=_(
            "Put one of your public keys on the server, to sign in with. Add keys under "
            "Keys & tokens."
        ),
    )

    field_order = ["allocation", "name", "offering", "flavor", "image", "networks",
                   "security_groups", "count", "boot_volume_gb", "ssh_key", "lease_end",
                   "justification"]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ssh_key"].queryset = ssh_keys_of(self.user)
        allocation = self.selected_allocation
        if allocation is None:
            return
        region = allocation.region
        # Only what the domain's (or the allocation's) catalog policy lets this allocation use.
        policy = CatalogPolicy.for_allocation(allocation)
        flavors = Flavor.objects.filter(region=region, active=True)
        images = Image.objects.filter(region=region, active=True)
        offerings = Offering.objects.filter(active=True, regions=region)
        if policy is not None:
            if policy.allowed("flavors"):
                flavors = flavors.filter(name__in=policy.allowed("flavors"))
                offerings = offerings.filter(flavor_name__in=policy.allowed("flavors"))
            if policy.allowed("images"):
                images = images.filter(name__in=policy.allowed("images"))
                offerings = offerings.filter(image_name__in=policy.allowed("images"))
            if policy.offerings_only:
                flavors, images = flavors.none(), images.none()
        self.fields["offering"].queryset = offerings
        self.fields["flavor"].choices = [("", "—")] + [(f.name, str(f)) for f in flavors]
        self.fields["image"].choices = [("", "—")] + [(i.name, i.name) for i in images]
        self.fields["networks"].queryset = Network.objects.live().filter(allocation=allocation)
        self.fields["security_groups"].queryset = SecurityGroup.objects.live().filter(
            allocation=allocation
        )

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        lease = data.get("lease_end")
        return {
            "name": data["name"],
            "offering": data["offering"].slug if data.get("offering") else "",
            "flavor": data.get("flavor") or "",
            "image": data.get("image") or "",
            "networks": [n.pk for n in data.get("networks") or []],
            "security_groups": [g.pk for g in data.get("security_groups") or []],
            "count": data["count"],
            "boot_volume_gb": data.get("boot_volume_gb"),
            "ssh_key": data["ssh_key"].pk if data.get("ssh_key") else None,
            "lease_end": datetime.combine(lease, time(23, 59), tzinfo=UTC) if lease else None,
        }


class NetworkRequestForm(RequestForm):
    cidr = forms.CharField(label=_("CIDR"), help_text=_("A private IPv4 range, e.g. 10.20.0.0/24."))
    gateway = forms.CharField(
        label=_("Gateway"), required=False, help_text=_("Empty: the range's first address.")
    )
    dns = forms.CharField(label=_("DNS servers"), required=False, help_text=_("Comma-separated."))
    router = forms.BooleanField(
        label=_("Connect to the external network through a router"), required=False, initial=True
    )

    field_order = ["allocation", "name", "cidr", "gateway", "dns", "router", "justification"]

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "cidr": data["cidr"],
            "gateway": data.get("gateway") or "",
            "dns": data.get("dns") or "",
            "router": bool(data.get("router")),
        }


class SecurityGroupRequestForm(RequestForm):
    description = forms.CharField(
        label=_("Description"), required=False, max_length=200,
        help_text=_("What the group is for, e.g. 'web tier'."),
    )  # fmt: skip

    field_order = ["allocation", "name", "description", "justification"]

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"name": data["name"], "description": data.get("description") or ""}


class VolumeRequestForm(RequestForm):
    size_gb = forms.IntegerField(label=_("Size (GB)"), min_value=1, initial=10)
    volume_type = forms.ChoiceField(
        label=_("Volume type"),
        required=False,
        choices=[("", _("— the cloud's default —"))],
        help_text=_("The storage class, as the region's cloud offers them."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=200,
        help_text=_("What it holds, e.g. 'database files'."),
    )  # fmt: skip

    field_order = ["allocation", "name", "size_gb", "volume_type", "description", "justification"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allocation = self.selected_allocation
        if allocation is None:
            return
        types = VolumeType.objects.filter(region=allocation.region, active=True)
        policy = CatalogPolicy.for_allocation(allocation)
        if policy is not None and policy.allowed("volume_types"):
            types = types.filter(name__in=policy.allowed("volume_types"))
            self.fields["volume_type"].choices = [("", _("— choose —"))]
        self.fields["volume_type"].choices += [
            (t.name, f"{t.name}: {t.description}" if t.description else t.name) for t in types
        ]

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "size_gb": data["size_gb"],
            "volume_type": data.get("volume_type") or "",
            "description": data.get("description") or "",
        }
