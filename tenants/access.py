"""The one access layer: who may see or act on what, as one queryset filter.

A user reaches an object only when all the dimensions the object's model declares allow it:

* tenant: the user's membership grants the action's permission on the tenant (guardian
  object permission, held by a per tenant-role group or directly);
* security domain: the user (or one of their groups) is cleared for the domain;
* site: the user (or one of their groups) is entitled to the site.

A security officer of a domain sees (but does not act on) every tenant's objects in that domain
at the sites they are entitled to, so they can oversee and decide the domain's requests.
Operators see and act on everything; auditors see everything and act on nothing.

Every check is expressed as ``pk IN (subquery)``, so ``access_filter()`` and ``can()`` (one
query) can be composed into any query.

``restrict()`` of a model that reaches its tenant, site and domain through one object that is
itself access controlled (servers, networks and requests through their allocation: the
``anchor`` of its paths) first reads the ids of the anchors the user may act on (one query on
the small table, none for operators), then filters the large table with that list. The planner
then knows how many rows the user sees (per-value statistics of ``allocation_id``) and picks the
plan that fits: an index scan in the list's order for a wide view, a bitmap of the few
allocations' rows for a narrow one. With the grants as OR'ed subqueries joined per row it
guessed half the table either way (measured at 1,000,000 servers: docs/architecture.md,
"Lists at a million rows").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class Action(StrEnum):
    VIEW = "view"
    REQUEST = "request"
    APPROVE = "approve"
    MANAGE = "manage"


#: The tenant object permission each action needs (see ``Tenant.Meta.permissions``).
TENANT_PERMISSION = {
    Action.VIEW: "tenant_view",
    Action.REQUEST: "tenant_request",
    Action.APPROVE: "tenant_approve",
    Action.MANAGE: "tenant_manage",
}
DOMAIN_PERMISSION = "access_domain"
OFFICER_PERMISSION = "officer_domain"
SITE_PERMISSION = "access_site"
OPERATOR_PERMISSION = "tenants.operate_portal"
AUDITOR_PERMISSION = "tenants.audit_portal"


@dataclass(frozen=True)
class AccessPaths:
    """How a model reaches the objects access is decided on.

    Each value is an ORM path from the model to a Tenant, Site or SecurityDomain; ``""`` means
    the model is that object itself; ``None`` means the dimension does not apply.
    """

    tenant: str | None = None
    site: str | None = None
    domain: str | None = None
    #: The path to the access-controlled object these paths go through, if any (set by ``via``).
    anchor: str | None = None

    def via(self, prefix: str) -> AccessPaths:
        """These paths as seen from a model that reaches this one through ``prefix``.

        ``Allocation.access_paths.via("request__allocation")`` is how an Approval reaches the
        tenant, site and domain of its request's allocation.
        """

        def extend(path: str | None) -> str | None:
            if path is None:
                return None
            return f"{prefix}__{path}" if path else prefix

        anchor = f"{prefix}__{self.anchor}" if self.anchor else prefix
        return AccessPaths(extend(self.tenant), extend(self.site), extend(self.domain), anchor)


def is_operator(user: AnyUser) -> bool:
    return bool(user.is_active and (user.is_superuser or user.has_perm(OPERATOR_PERMISSION)))


def is_auditor(user: AnyUser) -> bool:
    return bool(user.is_active and user.has_perm(AUDITOR_PERMISSION))


def sees_everything(user: AnyUser) -> bool:
    return is_operator(user) or is_auditor(user)


def _granted(user: AnyUser, target: str, codename: str) -> tuple[models.QuerySet, models.QuerySet]:
    """Subqueries of the ids of ``target`` objects on which ``user`` holds ``codename``."""
    from tenants.models import permissions as p

    user_model, group_model = {
        "tenant": (p.TenantUserObjectPermission, p.TenantGroupObjectPermission),
        "site": (p.SiteUserObjectPermission, p.SiteGroupObjectPermission),
        "domain": (p.SecurityDomainUserObjectPermission, p.SecurityDomainGroupObjectPermission),
    }[target]
    perm = {"permission__codename": codename, "permission__content_type__app_label": "tenants"}
    direct = user_model.objects.filter(user=user, **perm).values("content_object_id")
    via_group = group_model.objects.filter(group__user=user, **perm).values("content_object_id")
    return direct, via_group


def _holds(path: str, granted: tuple[models.QuerySet, models.QuerySet]) -> Q:
    lookup = f"{path}__in" if path else "pk__in"
    direct, via_group = granted
    return Q(**{lookup: direct}) | Q(**{lookup: via_group})


#: Beyond this many allocations (or half the database's limit of query parameters) the list is
#: left to the database as a subquery.
MAX_LISTED_ANCHORS = 50_000


def _listable(queryset: models.QuerySet, count: int) -> bool:
    limit = connections[queryset.db].features.max_query_params
    return count <= MAX_LISTED_ANCHORS and (limit is None or count <= limit // 2)


def _model_at(model: type[models.Model], path: str) -> type[models.Model]:
    for part in path.split("__"):
        model = model._meta.get_field(part).related_model
    return model


def access_filter(model: type[models.Model], user: AnyUser, action: Action | str) -> Q:
    """The Q object that keeps only the rows of ``model`` that ``user`` may ``action``."""
    paths = getattr(model, "access_paths", None)
    if not isinstance(paths, AccessPaths):
        raise ImproperlyConfigured(
            f"{model.__name__} declares no access_paths; the access layer cannot filter it."
        )
    action = Action(action)
    if paths.anchor:
        anchor_model = _model_at(model, paths.anchor)
        allowed = anchor_model._default_manager.filter(access_filter(anchor_model, user, action))
        return Q(**{f"{paths.anchor}__in": allowed.values("pk")})
    q = Q()
    if paths.tenant is not None:
        member = _holds(paths.tenant, _granted(user, "tenant", TENANT_PERMISSION[action]))
        if action == Action.VIEW and paths.domain is not None:
            # A security officer oversees everything in their domain, whichever tenant owns it
            # (still only at the sites they are entitled to: the site filter below applies).
            member |= _holds(paths.domain, _granted(user, "domain", OFFICER_PERMISSION))
        q &= member
    if paths.site is not None:
        q &= _holds(paths.site, _granted(user, "site", SITE_PERMISSION))
    if paths.domain is not None:
        q &= _holds(paths.domain, _granted(user, "domain", DOMAIN_PERMISSION))
    return q


def restrict(queryset: models.QuerySet, user: AnyUser, action: Action | str) -> models.QuerySet:
    """Narrow ``queryset`` to what ``user`` may ``action``. The one choke point for reads."""
    action = Action(action)
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if is_operator(user) or (action == Action.VIEW and is_auditor(user)):
        return queryset
    paths = getattr(queryset.model, "access_paths", None)
    if isinstance(paths, AccessPaths) and paths.anchor:
        anchor_model = _model_at(queryset.model, paths.anchor)
        allowed = anchor_model._default_manager.filter(access_filter(anchor_model, user, action))
        ids = list(allowed.order_by("pk").values_list("pk", flat=True))
        if not ids:
            return queryset.none()
        if _listable(queryset, len(ids)):
            return queryset.filter(**{f"{paths.anchor}__in": ids})
    return queryset.filter(access_filter(queryset.model, user, action))


def can(user: AnyUser, action: Action | str, obj: models.Model) -> bool:
    """Whether ``user`` may ``action`` on ``obj``: the same rule as ``restrict``, one query."""
    if obj.pk is None:
        raise ValueError("can() needs a saved object")
    queryset = type(obj)._default_manager.filter(pk=obj.pk)
    return restrict(queryset, user, action).exists()


def officer_domains_filter(user: AnyUser, path: str = "") -> Q:
    """Rows whose security domain (at ``path``) has ``user`` as a cleared security officer."""
    return _holds(path, _granted(user, "domain", OFFICER_PERMISSION)) & _holds(
        path, _granted(user, "domain", DOMAIN_PERMISSION)
    )


def site_access_filter(user: AnyUser, path: str) -> Q:
    """Rows whose site (at ``path``) ``user`` is entitled to."""
    return _holds(path, _granted(user, "site", SITE_PERMISSION))


class RestrictedQuerySet(models.QuerySet):
    """A queryset that knows how to narrow itself to what a user may do (NetBox's shape)."""

    def restrict(self, user: Any, action: Action | str = Action.VIEW) -> RestrictedQuerySet:
        return restrict(self, user, action)
