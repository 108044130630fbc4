"""Pages for servers, networks, security groups and volumes: searchable, filterable, sortable
lists; detail pages with the object's audit trail; day-2 actions behind a confirmation step that
files a request.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from portal.models import AuditEvent
from portal.views import RestrictedMixin
from provisioning.filtersets import (
    NetworkFilterSet,
    SecurityGroupFilterSet,
    ServerFilterSet,
    VolumeFilterSet,
)
from provisioning.firewall import PROTOCOLS
from provisioning.models import (
    IN_FLIGHT,
    Flavor,
    Kind,
    Network,
    ResourceRequest,
    SecurityGroup,
    Server,
    Volume,
)
from provisioning.services import (
    QuotaExceeded,
    RequestNotAllowed,
    request_refusal,
    request_submit,
)
from provisioning.views.approvals import error_messages
from provisioning.views.details import PlacedDetailView
from provisioning.views.lists import FilteredListView
from tenants.access import Action

ALLOCATION_RELATED = (
    "allocation__tenant",
    "allocation__region__site",
    "allocation__region__domain",
)
AUDIT_ROWS = 50


#: The statuses Nova and Neutron give servers and networks, for the status filter.
SERVER_STATUSES = ("ACTIVE", "BUILD", "ERROR", "PAUSED", "REBOOT", "RESIZE", "SHUTOFF",
                   "SUSPENDED", "VERIFY_RESIZE")  # fmt: skip
NETWORK_STATUSES = ("ACTIVE", "BUILD", "DOWN", "ERROR")

SORT_BY_PLACE = {
    "name": "name",
    "tenant": "allocation__tenant__name",
    "site": "allocation__region__site__name",
    "domain": "allocation__region__domain__level",
    "status": "status",
    "created": "created_at",
}


class ServerListView(FilteredListView):
    model = Server
    queryset = Server.objects.live().select_related(*ALLOCATION_RELATED)
    template_name = "provisioning/server_list.html"
    filterset_class = ServerFilterSet
    sort_fields = {**SORT_BY_PLACE, "flavor": "flavor_name"}
    statuses = SERVER_STATUSES


class NetworkListView(FilteredListView):
    model = Network
    queryset = Network.objects.live().select_related(*ALLOCATION_RELATED)
    template_name = "provisioning/network_list.html"
    filterset_class = NetworkFilterSet
    sort_fields = {**SORT_BY_PLACE, "cidr": "cidr"}
    statuses = NETWORK_STATUSES


class SecurityGroupListView(FilteredListView):
    model = SecurityGroup
    queryset = SecurityGroup.objects.live().select_related(*ALLOCATION_RELATED)
    template_name = "provisioning/security_group_list.html"
    filterset_class = SecurityGroupFilterSet
    sort_fields = dict(SORT_BY_PLACE)
    statuses = ("ACTIVE",)


#: Cinder's volume statuses, for the status filter.
VOLUME_STATUSES = ("available", "in-use", "creating", "attaching", "detaching", "extending",
                   "deleting", "error", "error_extending", "error_deleting")  # fmt: skip


class VolumeListView(FilteredListView):
    model = Volume
    queryset = Volume.objects.live().select_related(*ALLOCATION_RELATED, "server")
    template_name = "provisioning/volume_list.html"
    filterset_class = VolumeFilterSet
    sort_fields = {**SORT_BY_PLACE, "size": "size_gb"}
    statuses = VOLUME_STATUSES


class ResourceDetailView(PlacedDetailView):
    """A server, network, security group or volume with its request in progress, its audit
    trail and its actions."""

    actions: dict[str, Kind] = {}
    url_name: str

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        obj, user = self.object, self.request.user
        target_field = {
            Server: "target_server",
            Network: "target_network",
            SecurityGroup: "target_security_group",
            Volume: "target_volume",
        }[type(obj)]
        kwargs["in_progress"] = (
            ResourceRequest.objects.restrict(user)
            .filter(state__in=IN_FLIGHT, **{target_field: obj})
            .order_by("-created_at")
            .first()
        )
        kwargs["audit_events"] = list(
            AuditEvent.objects.restrict(user, Action.VIEW)
            .filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
            .order_by("-id")[:AUDIT_ROWS]
        )
        kwargs["refusal"] = None if obj.is_deleted else request_refusal(user, obj.allocation)
        kwargs["may_request"] = not obj.is_deleted and kwargs["refusal"] is None
        kwargs["actions"] = self.available_actions(obj)
        kwargs["url_name"] = self.url_name
        return super().get_context_data(**kwargs)

    def available_actions(self, obj) -> list[tuple[str, str]]:
        # Actions on a part of the object (closing one rule) are offered next to that part.
        return [(name, ACTION_LABELS[name]) for name in self.actions if name not in PER_ROW]


ACTION_LABELS = {
    "start": gettext_lazy("Start"),
    "stop": gettext_lazy("Stop"),
    "reboot": gettext_lazy("Reboot"),
    "decommission": gettext_lazy("Decommission"),
    "resize": gettext_lazy("Resize"),
    "add-address": gettext_lazy("Add an external address"),
    "open-rule": gettext_lazy("Open a firewall rule"),
    "close-rule": gettext_lazy("Close a firewall rule"),
    "release-address": gettext_lazy("Release the external address"),
    "attach-volume": gettext_lazy("Attach a volume"),
    "attach": gettext_lazy("Attach to a server"),
    "detach": gettext_lazy("Detach"),
    "extend": gettext_lazy("Extend"),
    "extend-lease": gettext_lazy("Extend the lease"),
}
SERVER_ACTIONS = {
    "start": Kind.SERVER_START,
    "stop": Kind.SERVER_STOP,
    "reboot": Kind.SERVER_REBOOT,
    "resize": Kind.SERVER_RESIZE,
    "add-address": Kind.SERVER_ADDRESS_ADD,
    "release-address": Kind.SERVER_ADDRESS_RELEASE,
    "attach-volume": Kind.VOLUME_ATTACH,
    "extend-lease": Kind.LEASE_EXTEND,
    "decommission": Kind.SERVER_DECOMMISSION,
}
NETWORK_ACTIONS = {"decommission": Kind.NETWORK_DECOMMISSION}
SECURITY_GROUP_ACTIONS = {
    "open-rule": Kind.SECURITY_GROUP_RULE,
    "close-rule": Kind.SECURITY_GROUP_RULE_REMOVE,
    "decommission": Kind.SECURITY_GROUP_DECOMMISSION,
}
VOLUME_ACTIONS = {
    "attach": Kind.VOLUME_ATTACH,
    "detach": Kind.VOLUME_DETACH,
    "extend": Kind.VOLUME_EXTEND,
    "decommission": Kind.VOLUME_DECOMMISSION,
}
#: Actions offered on a row of the object's page rather than in its action list.
PER_ROW = {"close-rule"}
#: What a rule request says, as the page's form names it.
RULE_FIELDS = ("direction", "protocol", "port_min", "port_max", "remote_cidr", "remote_group",
               "description")  # fmt: skip


class ServerDetailView(ResourceDetailView):
    model = Server
    queryset = Server.objects.select_related("origin_request")
    template_name = "provisioning/server_detail.html"
    actions = SERVER_ACTIONS
    url_name = "server-action"

    def available_actions(self, obj) -> list[tuple[str, str]]:
        # Power actions that make sense in the server's current state; Nova refuses the others.
        sensible = {"SHUTOFF": {"start"}, "ACTIVE": {"stop", "reboot"}}.get(obj.status, set())
        names = [n for n in ("start", "stop", "reboot") if n in sensible]
        if obj.status in ("ACTIVE", "SHUTOFF"):
            names.append("resize")
        if self.floating_ips:
            names.append("release-address")
        elif obj.allocation.region.domain.external_addresses != "forbid":
            names.append("add-address")
        if obj.status in ("ACTIVE", "SHUTOFF"):
            names.append("attach-volume")
        if obj.lease_end:
            names.append("extend-lease")
        names.append("decommission")
        return [(name, ACTION_LABELS[name]) for name in names]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The page names each network and its range; its places are the server's.
        kwargs["networks"] = list(self.object.networks.all())
        self.floating_ips = kwargs["floating_ips"] = list(self.object.floating_ips.live())
        kwargs["security_groups"] = list(self.object.security_groups.live().order_by("name"))
        kwargs["volumes"] = list(self.object.volumes.live().order_by("device", "name"))
        return super().get_context_data(**kwargs)


class NetworkDetailView(ResourceDetailView):
    model = Network
    queryset = Network.objects.select_related("origin_request")
    template_name = "provisioning/network_detail.html"
    actions = NETWORK_ACTIONS
    url_name = "network-action"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["servers"] = list(
            self.object.servers.live().restrict(self.request.user).order_by("name")
        )
        return super().get_context_data(**kwargs)


class SecurityGroupDetailView(ResourceDetailView):
    model = SecurityGroup
    queryset = SecurityGroup.objects.select_related("origin_request")
    template_name = "provisioning/security_group_detail.html"
    actions = SECURITY_GROUP_ACTIONS
    url_name = "security-group-action"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        group, user = self.object, self.request.user
        kwargs["rules"] = list(
            group.rules.live()
            .select_related("remote_group", "origin_request")
            .order_by("direction", "port_min", "id")
        )
        kwargs["servers"] = list(group.servers.live().restrict(user).order_by("name"))
        return super().get_context_data(**kwargs)


class VolumeDetailView(ResourceDetailView):
    model = Volume
    queryset = Volume.objects.select_related("origin_request", "server")
    template_name = "provisioning/volume_detail.html"
    actions = VOLUME_ACTIONS
    url_name = "volume-action"

    def available_actions(self, obj) -> list[tuple[str, str]]:
        names = ["detach"] if obj.server_id else ["attach", "extend"]
        names.append("decommission")
        return [(name, ACTION_LABELS[name]) for name in names]


class ResourceActionView(RestrictedMixin, TemplateView):
    """Confirm a day-2 action with a justification, then file the request and show it.

    GET shows the confirmation (as a panel for htmx, a page otherwise); POST submits through
    ``request_submit`` and redirects to the new request, or shows the service's errors.
    """

    model: type[Model]
    actions: dict[str, Kind]
    url_name: str
    #: The list the breadcrumb leads back to.
    list_url_name: str
    template_name = "provisioning/resource_action.html"
    panel_template = "provisioning/_resource_action_panel.html"

    def get_queryset(self) -> QuerySet:
        return self.model.objects.select_related(*ALLOCATION_RELATED).restrict(
            self.request.user, Action.VIEW
        )

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.errors: dict[str, list[str]] = {}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if kwargs["action"] not in self.actions:
            raise Http404
        if request.user.is_authenticated:
            # Refused up front, with what to do instead: not a form that fails on submit.
            self.object = self.get_object()
            refusal = request_refusal(request.user, self.object.allocation)
            if refusal is not None:
                context = {
                    "object": self.object, "refusal": refusal,
                    "action_label": ACTION_LABELS[kwargs["action"]],
                    "list_url_name": self.list_url_name,
                    "model_name": self.model._meta.verbose_name,
                    "page_domains": (self.object.allocation.region.domain,),
                }  # fmt: skip
                return render(request, "provisioning/resource_refused.html", context, status=403)
        return super().dispatch(request, *args, **kwargs)

    def get_object(self) -> Model:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        action = self.kwargs["action"]
        kwargs.update(
            object=self.object,
            action=action,
            action_label=ACTION_LABELS[action],
            kind=self.actions[action],
            errors=self.errors,
            justification=self.request.POST.get("justification", ""),
            model_name=self.model._meta.verbose_name,
            url_name=self.url_name,
            list_url_name=self.list_url_name,
            spec=self.spec_from(self.request.POST) if self.request.method == "POST" else None,
        )
        if self.actions[action] == Kind.SECURITY_GROUP_RULE:
            kwargs["peer_groups"] = SecurityGroup.objects.live().filter(
                allocation_id=self.object.allocation_id
            )
            kwargs["rule_directions"] = [("ingress", _("Inbound")), ("egress", _("Outbound"))]
            kwargs["rule_protocols"] = PROTOCOLS
            kwargs["spec"] = kwargs["spec"] or {"direction": "ingress", "protocol": "tcp"}
        if self.actions[action] == Kind.SECURITY_GROUP_RULE_REMOVE:
            wanted = self.request.POST.get("rule") or self.request.GET.get("rule") or ""
            kwargs["closing"] = (
                self.object.rules.live().select_related("remote_group").filter(pk=wanted).first()
                if wanted.isdigit()
                else None
            )
        if self.actions[action] == Kind.SERVER_RESIZE:
            kwargs["flavors"] = Flavor.objects.filter(
                region=self.object.allocation.region, active=True
            ).exclude(name=self.object.flavor_name)
        if self.actions[action] == Kind.VOLUME_ATTACH:
            # From a volume: the servers it can go to; from a server: the volumes it can take.
            same_place = {"allocation_id": self.object.allocation_id}
            if isinstance(self.object, Volume):
                kwargs["attach_servers"] = Server.objects.live().filter(
                    status__in=("ACTIVE", "SHUTOFF"), **same_place
                )
            else:
                kwargs["attach_volumes"] = Volume.objects.live().filter(
                    server__isnull=True, status="available", **same_place
                )
        return super().get_context_data(**kwargs)

    def spec_from(self, data) -> dict[str, Any] | None:
        """What the action says besides its justification (a resize: the flavor)."""
        kind = self.actions[self.kwargs["action"]]
        if kind == Kind.SERVER_RESIZE:
            return {"flavor": data.get("flavor", "")}
        if kind == Kind.SECURITY_GROUP_RULE:
            return {name: data.get(name, "") for name in RULE_FIELDS}
        if kind == Kind.SECURITY_GROUP_RULE_REMOVE:
            return {"rule": data.get("rule", "")}
        if kind == Kind.VOLUME_ATTACH:
            return {"server": data.get("server", "")}
        if kind == Kind.VOLUME_EXTEND:
            return {"size_gb": data.get("size_gb", "")}
        if kind == Kind.VOLUME_DECOMMISSION:
            return {"detach": data.get("detach") == "on"}
        if kind == Kind.LEASE_EXTEND:
            return {"lease_end": data.get("lease_end", "")}
        return None

    def request_target(self, data) -> tuple[Model, dict[str, Any] | None]:
        """What the request acts on, and its spec: the page's object, as a rule."""
        return self.object, self.spec_from(data)

    def get_page_domains(self, context: dict[str, Any]) -> tuple:
        return (self.object.allocation.region.domain,)

    def get_template_names(self) -> list[str]:
        return [self.panel_template if self.request.htmx else self.template_name]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # ``dispatch`` has read the object (and refused those who may not act on it).
        try:
            target, spec = self.request_target(request.POST)
            filed = request_submit(
                user=request.user,
                kind=self.actions[kwargs["action"]],
                target=target,
                justification=request.POST.get("justification", ""),
                spec=spec,
            )
        except (QuotaExceeded, ValidationError, RequestNotAllowed) as err:
            # The target's errors concern the whole action: shown above the form.
            self.errors = error_messages(err, whole=("target",))
            context = self.get_context_data(**kwargs)
            return render(request, self.template_name, context, status=400)
        return redirect(filed)


class ServerActionView(ResourceActionView):
    model = Server
    actions = SERVER_ACTIONS
    url_name = "server-action"
    list_url_name = "server-list"

    def request_target(self, data) -> tuple[Model, dict[str, Any] | None]:
        if self.actions[self.kwargs["action"]] != Kind.VOLUME_ATTACH:
            return super().request_target(data)
        # Attaching is a request on the volume: the server is what its spec names.
        wanted = data.get("volume", "")
        volume = (
            Volume.objects.restrict(self.request.user, Action.VIEW)
            .filter(allocation_id=self.object.allocation_id, pk=wanted)
            .first()
            if wanted.isdigit()
            else None
        )
        if volume is None:
            raise ValidationError({"volume": [_("Choose a volume of this tenant in this region.")]})
        return volume, {"server": self.object.pk}


class NetworkActionView(ResourceActionView):
    model = Network
    actions = NETWORK_ACTIONS
    url_name = "network-action"
    list_url_name = "network-list"


class SecurityGroupActionView(ResourceActionView):
    model = SecurityGroup
    actions = SECURITY_GROUP_ACTIONS
    url_name = "security-group-action"
    list_url_name = "security-group-list"


class VolumeActionView(ResourceActionView):
    model = Volume
    actions = VOLUME_ACTIONS
    url_name = "volume-action"
    list_url_name = "volume-list"


urlpatterns = [
    path("servers/", ServerListView.as_view(), name="server-list"),
    path("servers/<int:pk>/", ServerDetailView.as_view(), name="server-detail"),
    path("servers/<int:pk>/<slug:action>/", ServerActionView.as_view(), name="server-action"),
    path("networks/", NetworkListView.as_view(), name="network-list"),
    path("security-groups/", SecurityGroupListView.as_view(), name="security-group-list"),
    path(
        "security-groups/<int:pk>/", SecurityGroupDetailView.as_view(), name="security-group-detail"
    ),
    path(
        "security-groups/<int:pk>/<slug:action>/",
        SecurityGroupActionView.as_view(),
        name="security-group-action",
    ),
    path("volumes/", VolumeListView.as_view(), name="volume-list"),
    path("volumes/<int:pk>/", VolumeDetailView.as_view(), name="volume-detail"),
    path("volumes/<int:pk>/<slug:action>/", VolumeActionView.as_view(), name="volume-action"),
    path("networks/<int:pk>/", NetworkDetailView.as_view(), name="network-detail"),
    path("networks/<int:pk>/<slug:action>/", NetworkActionView.as_view(), name="network-action"),
]
