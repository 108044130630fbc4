"""The one access layer: who may see or act on what, as one queryset filter.

A user reaches an object only when all the dimensions the object's model declares allow it:

* tenant: the user's membership grants the action's permission on the tenant (guardian
  object permission, held by a per tenant-role group or directly);
* security domain: the user (or one of their groups) is cleared for the domain;
* site: the user (or one of their groups) is entitled to the site.

A security officer of a domain sees (but does not act on) every tenant's objects in that domain
at the sites they are entitled to, so they can oversee and decide the domain's requests.
Operators see and act on everything; auditors see everything and act on nothing.

``access_filter()`` expresses every check as ``pk IN (subquery)``, so it (and ``can()``, one
query) composes into any query without a query of its own.

``restrict()`` of a model that reaches its tenant, site and domain through one object that is
itself access controlled (servers, networks and requests through their allocation: the
``anchor`` of its paths) reads first, in one query, the ids of the tenants, sites and domains
the user holds grants on (``Grants``), then the ids of the allocations those allow (a small
table), and filters the large table with that list; none of it for operators. The planner then
knows how many rows the user sees (per-value statistics of ``allocation_id``) and picks the plan
that fits: an index scan in the list's order for a wide view, a bitmap of the few allocations'
rows for a narrow one. With the grants as OR'ed subqueries joined per row it guessed half the
table either way (measured at 1,000,000 servers: docs/architecture.md, "Lists at a million
rows").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP

from portal.literals import IdsIn
from tenants import access_memory

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
    #: A small table whose rows others hang from (allocations): ``restrict()`` filters it by
    #: the list of allowed ids, remembered like the anchors of the large tables.
    listed: bool = False

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


def operators() -> models.QuerySet:
    """Everyone ``is_operator`` says yes to, as one query: active superusers and holders of
    the operator's permission, directly or through a group."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    app, codename = OPERATOR_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app, codename=codename)
    held = Q(user_permissions__in=permission) | Q(groups__permissions__in=permission)
    return get_user_model().objects.filter(held | Q(is_superuser=True), is_active=True).distinct()


def is_auditor(user: AnyUser) -> bool:
    return bool(user.is_active and user.has_perm(AUDITOR_PERMISSION))


def sees_everything(user: AnyUser) -> bool:
    return is_operator(user) or is_auditor(user)


def _permission_models(target: str):
    from tenants.models import permissions as p

    return {
        "tenant": (p.TenantUserObjectPermission, p.TenantGroupObjectPermission),
        "site": (p.SiteUserObjectPermission, p.SiteGroupObjectPermission),
        "domain": (p.SecurityDomainUserObjectPermission, p.SecurityDomainGroupObjectPermission),
    }[target]


def _granted_queries(user: AnyUser, target: str, codename: str) -> list[models.QuerySet]:
    """Subqueries of the ids of ``target`` objects on which ``user`` holds ``codename``: held
    directly, and through a group."""
    user_model, group_model = _permission_models(target)
    perm = {"permission__codename": codename, "permission__content_type__app_label": "tenants"}
    return [
        user_model.objects.filter(user=user, **perm).values("content_object_id"),
        group_model.objects.filter(group__user=user, **perm).values("content_object_id"),
    ]


class Grants:
    """Which tenants, sites and domains a user holds each permission on, read in one query.

    ``restrict()`` reads them first, so the filter it then sends names the ids themselves: the
    planner sees how few (or many) they are, where OR'ed permission subqueries left it guessing.
    The statement is written out rather than built from six querysets joined by ``union()``:
    compiling those took 8 of a detail call's 22 ms; this one is a string and its parameters.
    """

    def __init__(self, user: AnyUser, wanted: list[tuple[str, str]]) -> None:
        self._ids: dict[tuple[str, str], set[int]] = {key: set() for key in wanted}
        by_target: dict[str, list[str]] = {}
        for target, codename in dict.fromkeys(wanted):
            by_target.setdefault(target, []).append(codename)
        if not by_target:
            return
        selects, params = [], []
        user_groups = get_user_model().groups.through._meta.db_table
        for target, codenames in by_target.items():
            user_model, group_model = _permission_models(target)
            marks = ", ".join(["%s"] * len(codenames))
            for table, join, who in (
                (user_model._meta.db_table, "", "x.user_id"),
                (group_model._meta.db_table,
                 f"JOIN {user_groups} ug ON ug.group_id = x.group_id", "ug.user_id"),
            ):  # fmt: skip
                # Only model table names are interpolated; every value is a parameter.
                selects.append(
                    f"SELECT %s, p.codename, x.content_object_id FROM {table} x {join} "  # noqa: S608
                    "JOIN auth_permission p ON p.id = x.permission_id "
                    "JOIN django_content_type ct ON ct.id = p.content_type_id "
                    f"WHERE {who} = %s AND ct.app_label = 'tenants' AND p.codename IN ({marks})"
                )
                params += [target, user.pk, *codenames]
        with connections[router.db_for_read(user_model)].cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), params)
            for target, codename, pk in cursor.fetchall():
                self._ids[(target, codename)].add(pk)

    @classmethod
    def known(cls, held: dict[tuple[str, str], set[int]]) -> Grants:
        """Grants already read (``held`` of an earlier instance), without a query."""
        grants = cls.__new__(cls)
        grants._ids = held
        return grants

    @property
    def held(self) -> dict[tuple[str, str], set[int]]:
        return self._ids

    def ids(self, target: str, codename: str) -> list[int]:
        return sorted(self._ids[(target, codename)])


def _needed(paths: AccessPaths, action: Action) -> list[tuple[str, str]]:
    """The (target, permission) pairs ``access_filter`` reads for ``paths`` and ``action``."""
    wanted = []
    if paths.tenant is not None:
        wanted.append(("tenant", TENANT_PERMISSION[action]))
        if action == Action.VIEW and paths.domain is not None:
            wanted.append(("domain", OFFICER_PERMISSION))
    if paths.site is not None:
        wanted.append(("site", SITE_PERMISSION))
    if paths.domain is not None:
        wanted.append(("domain", DOMAIN_PERMISSION))
    return wanted


def _holds(path: str, user: AnyUser, target: str, codename: str, grants: Grants | None) -> Q:
    lookup = f"{path}__in" if path else "pk__in"
    if grants is not None:
        return Q(**{lookup: grants.ids(target, codename)})
    direct, via_group = _granted_queries(user, target, codename)
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


def access_filter(
    model: type[models.Model],
    user: AnyUser,
    action: Action | str,
    *,
    grants: Grants | None = None,
) -> Q:
    """The Q object that keeps only the rows of ``model`` that ``user`` may ``action``.

    Without ``grants`` it holds subqueries (no query now: composable into any query); with
    them, the granted ids themselves.
    """
    paths = getattr(model, "access_paths", None)
    if not isinstance(paths, AccessPaths):
        raise ImproperlyConfigured(
            f"{model.__name__} declares no access_paths; the access layer cannot filter it."
        )
    action = Action(action)
    if paths.anchor:
        anchor_model = _model_at(model, paths.anchor)
        allowed = anchor_model._default_manager.filter(
            access_filter(anchor_model, user, action, grants=grants)
        )
        return Q(**{f"{paths.anchor}__in": allowed.values("pk")})
    q = Q()
    if paths.tenant is not None:
        member = _holds(paths.tenant, user, "tenant", TENANT_PERMISSION[action], grants)
        if action == Action.VIEW and paths.domain is not None:
            # A security officer oversees everything in their domain, whichever tenant owns it
            # (still only at the sites they are entitled to: the site filter below applies).
            member |= _holds(paths.domain, user, "domain", OFFICER_PERMISSION, grants)
        q &= member
    if paths.site is not None:
        q &= _holds(paths.site, user, "site", SITE_PERMISSION, grants)
    if paths.domain is not None:
        q &= _holds(paths.domain, user, "domain", DOMAIN_PERMISSION, grants)
    return q


def _everything(user: AnyUser, action: Action) -> bool | None:
    """True: ``user`` may ``action`` on everything; None: on nothing; False: it depends."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return is_operator(user) or (action == Action.VIEW and is_auditor(user))


def anchor_filter(
    model: type[models.Model],
    user: AnyUser,
    action: Action | str,
    *,
    also: tuple[tuple[str, str], ...] = (),
) -> tuple[Q | None, Grants | None]:
    """``anchor IN [the anchors user may action]`` for a model with an anchor, ``pk IN [...]``
    for a listed model (allocations themselves), from the grants and the allowed anchors (two
    small queries, remembered: ``_allowed_anchors``), and the grants read, which include the
    (target, permission) pairs in ``also`` for the caller's own use. The filter is None where a
    subquery is better (neither, or too many anchors to list). Only for users of whom
    ``_everything`` said "it depends"."""
    action = Action(action)
    paths = getattr(model, "access_paths", None)
    if not isinstance(paths, AccessPaths):
        return None, None
    if paths.anchor:
        anchor_model, column = _model_at(model, paths.anchor), paths.anchor
    elif paths.listed:
        anchor_model, column = model, "pk"
    else:
        return None, None
    ids, grants = _allowed_anchors(anchor_model, user, action, also)
    if not _listable(model._default_manager.all(), len(ids)):
        return None, grants
    # Written into the statement, not bound (portal.literals): the ids are our own ints.
    return Q(IdsIn(column, ids)), grants


def _allowed_anchors(
    anchor_model: type[models.Model], user: AnyUser, action: Action, also: tuple
) -> tuple[list[int], Grants]:
    """The ids of the ``anchor_model`` rows ``user`` may ``action``, and the grants read.

    Remembered between requests at the current access generation (``tenants.access_memory``):
    any committed change of grants, groups, allocations or regions, in any process, makes the
    next request read them again.
    """
    key = ("anchors", user.pk, anchor_model._meta.label, str(action), also)

    def read() -> tuple[list[int], dict]:
        grants = Grants(user, [*_needed(anchor_model.access_paths, action), *also])
        allowed = anchor_model._default_manager.filter(
            access_filter(anchor_model, user, action, grants=grants)
        )
        return list(allowed.order_by("pk").values_list("pk", flat=True)), grants.held

    # Within one request (one user object), kept on the user as well: no second look-up.
    on_user = access_memory.kept_on(user).setdefault("_portal_allowed_anchors", {})
    found = on_user.get(key)
    if found is not None and found[0] == access_memory.changes_here():
        return found[1], found[2]
    ids, held = access_memory.recall(key, access_memory.generation_for(user), read)
    grants = Grants.known(held)
    on_user[key] = (access_memory.changes_here(), ids, grants)
    return ids, grants


def anchor_check(
    model: type[models.Model], user: AnyUser, action: Action | str
) -> Callable[[models.Model], bool] | None:
    """``restrict()``'s rule for one row already fetched by its key: whether its allocation is
    one ``user`` may ``action`` (or, for an allocation itself, whether it is one), checked
    against the ids in memory instead of sent with the query (compiling a hundred ids into a
    one-row query cost more than running it).

    None where there is nothing to check this way (no direct anchor, or a user who may do
    everything or nothing): use ``restrict()`` then.
    """
    action = Action(action)
    paths = getattr(model, "access_paths", None)
    if not isinstance(paths, AccessPaths):
        return None
    if paths.anchor and LOOKUP_SEP not in paths.anchor:
        anchor_model, attname = _model_at(model, paths.anchor), None
    elif paths.listed and not paths.anchor:
        anchor_model, attname = model, "pk"
    else:
        return None
    if _everything(user, action) is not False:
        return None
    ids, _grants = _allowed_anchors(anchor_model, user, action, ())
    allowed = frozenset(ids)
    attname = attname or model._meta.get_field(paths.anchor).attname
    return lambda obj: getattr(obj, attname) in allowed


def restrict(queryset: models.QuerySet, user: AnyUser, action: Action | str) -> models.QuerySet:
    """Narrow ``queryset`` to what ``user`` may ``action``. The one choke point for reads."""
    action = Action(action)
    everything = _everything(user, action)
    if everything is None:
        return queryset.none()
    if everything:
        return queryset
    listed, grants = anchor_filter(queryset.model, user, action)
    if listed is not None:
        return queryset.filter(listed)
    model = queryset.model
    if grants is None and isinstance(getattr(model, "access_paths", None), AccessPaths):
        grants = _remembered_grants(user, _needed(model.access_paths, action))
    return queryset.filter(access_filter(model, user, action, grants=grants))


def _remembered_grants(user: AnyUser, wanted: list[tuple[str, str]]) -> Grants:
    """The user's grants of ``wanted``, remembered at the access generation: the filter then
    names ids instead of six permission subqueries (8 ms to compile for the audit log)."""
    key = ("grants", user.pk, tuple(wanted))
    held = access_memory.recall(
        key, access_memory.generation_for(user), lambda: Grants(user, wanted).held
    )
    return Grants.known(held)


def can(user: AnyUser, action: Action | str, obj: models.Model) -> bool:
    """Whether ``user`` may ``action`` on ``obj``: the same rule as ``restrict``.

    Checked against the remembered ids where the object names its allocation (or is one):
    no query, as ``restrict()`` would have listed the same ids. Otherwise one query.
    """
    if obj.pk is None:
        raise ValueError("can() needs a saved object")
    action = Action(action)
    everything = _everything(user, action)
    if everything is None:
        return False
    queryset = type(obj)._default_manager.filter(pk=obj.pk)
    if not everything:
        check = anchor_check(type(obj), user, action)
        if check is not None:
            return check(obj)
        queryset = queryset.filter(access_filter(type(obj), user, action))
    return queryset.exists()


def overseen_allocations(user: AnyUser, grants: Grants | None = None) -> Q | None:
    """``allocation IN (...)``: the allocations in the domains ``user`` is a cleared security
    officer of, at the sites they are entitled to (who decides a request's security stage).
    None where there are none, so a caller leaves its clause out.

    ``grants``: the user's grants if the caller has read them with these pairs
    (``OVERSEEING``). The ids are remembered at the access generation, as ``restrict()``'s are:
    built as a subquery over the allocations, the rule was compiled into each of an inbox
    page's three statements, and dropped there for anyone who oversees nothing.
    """

    def rule(grants: Grants) -> Q:
        return officer_domains_filter(user, "region__domain", grants) & site_access_filter(
            user, "region__site", grants
        )

    return _allocations_under("overseen", user, OVERSEEING, rule, grants)


def managed_allocations(user: AnyUser, grants: Grants | None = None) -> Q | None:
    """``allocation IN (...)``: the allocations ``user`` may manage (who decides a capacity
    request's manager stage), as ``overseen_allocations`` (``grants`` with ``MANAGING``)."""
    from tenants.models import Allocation

    def rule(grants: Grants) -> Q:
        return access_filter(Allocation, user, Action.MANAGE, grants=grants)

    return _allocations_under("managed", user, MANAGING, rule, grants)


#: The grants ``overseen_allocations`` and ``managed_allocations`` read.
OVERSEEING = (("domain", OFFICER_PERMISSION), ("domain", DOMAIN_PERMISSION),
              ("site", SITE_PERMISSION))  # fmt: skip
MANAGING = (("tenant", TENANT_PERMISSION[Action.MANAGE]), ("site", SITE_PERMISSION),
            ("domain", DOMAIN_PERMISSION))  # fmt: skip


def _allocations_under(
    name: str,
    user: AnyUser,
    wanted: tuple[tuple[str, str], ...],
    rule: Callable[[Grants], Q],
    grants: Grants | None,
) -> Q | None:
    """The allocations ``rule`` allows, for a rule that needs every grant in ``wanted``: one
    missing, none are allowed and nothing is read."""
    from tenants.models import Allocation

    if grants is None:
        grants = _remembered_grants(user, list(wanted))
    if not all(grants.ids(target, codename) for target, codename in wanted):
        return None

    def read() -> list[int]:
        allowed = Allocation.objects.filter(rule(grants))
        return list(allowed.order_by("pk").values_list("pk", flat=True))

    ids = access_memory.recall((name, user.pk), access_memory.generation_for(user), read)
    if not ids:
        return None
    if not _listable(Allocation.objects.all(), len(ids)):
        return Q(allocation__in=Allocation.objects.filter(rule(grants)).values("pk"))
    return Q(IdsIn("allocation", ids))


def officer_domains_filter(user: AnyUser, path: str = "", grants: Grants | None = None) -> Q:
    """Rows whose security domain (at ``path``) has ``user`` as a cleared security officer."""
    return _holds(path, user, "domain", OFFICER_PERMISSION, grants) & _holds(
        path, user, "domain", DOMAIN_PERMISSION, grants
    )


def site_access_filter(user: AnyUser, path: str, grants: Grants | None = None) -> Q:
    """Rows whose site (at ``path``) ``user`` is entitled to."""
    return _holds(path, user, "site", SITE_PERMISSION, grants)


class RestrictedQuerySet(models.QuerySet):
    """A queryset that knows how to narrow itself to what a user may do (NetBox's shape)."""

    def restrict(self, user: Any, action: Action | str = Action.VIEW) -> RestrictedQuerySet:
        return restrict(self, user, action)
