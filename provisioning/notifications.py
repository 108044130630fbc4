"""Word to the people a request concerns (approvers, the requester, resource owners): in the
portal's bell and by e-mail.

Services call the ``*`` functions inside the transaction that makes the change; they put a
``notify`` task in the outbox (relayed after commit), so a slow mail server never holds up a
page. The task renders and sends with ``send``, once per event and recipient: each message is a
``Notification`` row first, and a redelivered or duplicated task finds it already sent.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from guardian.shortcuts import get_users_with_perms

from portal.outbox import enqueue
from portal.preferences import language_of
from provisioning.models import Notification, RequestState, ResourceRequest, Server, Stage
from provisioning.templatetags.durations import duration
from tenants.access import OFFICER_PERMISSION, operators
from tenants.models import Delegation, Role

KINDS = (
    "approvers_new_request",
    "requester_decided",
    "requester_outcome",
    "lease_ending",
    "deadline_remind",
    "deadline_managers",
    "deadline_operators",
    "delegation_given",
)


#: A message claimed but not marked sent after this long is taken to be lost and sent again.
RESEND_AFTER = timedelta(minutes=10)


def _enqueue(kind: str, object_id: int, event: str) -> None:
    enqueue("provisioning.tasks.notify", kind, object_id, event=event)


def approvers_new_request(request: ResourceRequest) -> None:
    _enqueue(
        "approvers_new_request", request.pk, f"request:{request.pk}:awaits:{request.pending_stage}"
    )


def requester_decided(request: ResourceRequest) -> None:
    _enqueue("requester_decided", request.pk, f"request:{request.pk}:decided:{request.state}")


def requester_outcome(request: ResourceRequest) -> None:
    _enqueue(
        "requester_outcome",
        request.pk,
        f"request:{request.pk}:attempt:{request.attempts}:{request.state}",
    )


def deadline_step(request: ResourceRequest, whom: str, *, index: int) -> None:
    """Step ``index`` of the request's decision deadline (``provisioning.services.deadlines``):
    ``whom`` is remind (the stage's approvers), managers (the tenant's) or operators."""
    _enqueue(
        f"deadline_{whom}",
        request.pk,
        f"request:{request.pk}:deadline:{request.pending_stage}:{index}",
    )


def lease_ending(server: Server) -> None:
    ends = server.lease_end.isoformat() if server.lease_end else ""
    _enqueue("lease_ending", server.pk, f"server:{server.pk}:lease_ends:{ends}")


def _url(obj) -> str:
    return settings.PORTAL_URL.rstrip("/") + obj.get_absolute_url()


def approvers_for(request: ResourceRequest) -> list:
    """Everyone who could decide the request's current stage now."""
    from provisioning.selectors import requests_awaiting

    if request.pending_stage == Stage.SECURITY:
        candidates = get_users_with_perms(
            request.allocation.region.domain,
            only_with_perms_in=[OFFICER_PERMISSION],
            with_group_users=True,
        )
    elif request.pending_stage == Stage.MANAGER:
        candidates = get_user_model().objects.filter(
            memberships__tenant=request.allocation.tenant, memberships__role=Role.MANAGER
        )
    elif request.pending_stage == Stage.OPERATOR:
        candidates = operators()
    else:
        # The tenant's approvers and managers, and whoever stands in for one of them now.
        tenant = request.allocation.tenant
        standing_in = Delegation.objects.exclude(group=None).filter(tenants=tenant)
        candidates = (
            get_user_model()
            .objects.filter(
                Q(memberships__tenant=tenant, memberships__role__in=[Role.APPROVER, Role.MANAGER])
                | Q(pk__in=standing_in.values("delegate"))
            )
            .distinct()
        )
    candidates = candidates.filter(is_active=True)
    return [u for u in candidates if requests_awaiting(u).filter(pk=request.pk).exists()]


def _claim(event: str, user, subject: str, url: str) -> Notification | None:
    """The row that says this person gets this event's message; None if it was sent."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                event=event, user=user, recipient=user.email, subject=subject, url=url
            )
    except IntegrityError:
        pass
    stale = timezone.now() - RESEND_AFTER
    return Notification.objects.filter(
        event=event, user=user, sent_at__isnull=True, created_at__lt=stale
    ).first()


def _deliver(event: str, recipients: list, render, about) -> int:
    """Tell each recipient (a user) not yet told of this event: in the portal (the bell, linking
    to ``about``) and by e-mail when they have an address; mail goes out with no transaction
    open. ``render()`` gives the subject and body, called in each recipient's own language.
    Returns the number of e-mails sent."""
    sent = 0
    for user in {u.pk: u for u in recipients}.values():
        with translation.override(language_of(user)):
            subject, body = render()
        claim = _claim(event, user, subject[:300], about.get_absolute_url())
        if claim is None:
            continue
        if user.email:
            sent += send_mail(subject, body, None, [user.email])
        Notification.objects.filter(pk=claim.pk).update(sent_at=timezone.now())
    return sent


def notifications_read(user, *, pk: int | None = None) -> int:
    """Mark ``user``'s notification ``pk`` read, or all of them; returns how many changed."""
    from provisioning.selectors import notifications_of

    unread = notifications_of(user).filter(read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())


def send(kind: str, object_id: int, *, event: str = "") -> int:
    """Render and send one notification; returns the number of messages sent.

    ``event`` identifies what happened (see the functions above); without it the message is
    keyed on the object's current state, which a redelivery sees unchanged.
    """
    if kind == "lease_ending":
        server = Server.objects.select_related("origin_request__requester").get(pk=object_id)
        owner = server.origin_request.requester if server.origin_request else None
        if owner is None:
            return 0
        facts = {"server": server.name, "ends": f"{server.lease_end:%Y-%m-%d %H:%M}"}

        def lease_message() -> tuple[str, str]:
            subject = _("Lease of %(server)s ends %(ends)s UTC") % facts
            body = (
                _(
                    "The lease of server %(server)s ends on %(ends)s UTC. It will then be "
                    "decommissioned."
                )
                % facts
                + f"\n\n{_url(server)}"
            )
            return subject, body

        ends = server.lease_end.isoformat() if server.lease_end else ""
        event = event or f"server:{server.pk}:lease_ends:{ends}"
        return _deliver(event, [owner], lease_message, server)

    if kind == "delegation_given":
        from tenants.delegations import delegable_tenants

        delegation = Delegation.objects.select_related("delegator", "delegate").get(pk=object_id)
        covered = delegable_tenants(delegation.delegator, delegation.delegate)
        words = {
            "who": delegation.delegator.get_full_name() or delegation.delegator.get_username(),
            "since": f"{delegation.starts_at:%Y-%m-%d %H:%M}",
            "until": f"{delegation.ends_at:%Y-%m-%d %H:%M}",
            "tenants": ", ".join(t.name for t in covered.order_by("name")),
            "url": _url(delegation),
        }

        def handed_over() -> tuple[str, str]:
            subject = _("%(who)s hands you their approvals") % words
            body = _(
                "From %(since)s to %(until)s UTC you decide in place of %(who)s in: "
                "%(tenants)s. Their requests will reach your inbox, marked as theirs."
                "\n\n%(url)s"
            )
            return subject, body % words

        event = event or f"delegation:{delegation.pk}:given"
        return _deliver(event, [delegation.delegate], handed_over, delegation)

    request = ResourceRequest.objects.select_related(
        "requester", "allocation__region__site", "allocation__region__domain"
    ).get(pk=object_id)
    marking = request.allocation.region.domain.marking
    facts = {"marking": marking, "request": request.pk, "title": request.title}
    if kind == "approvers_new_request":
        recipients = approvers_for(request)

        def render() -> tuple[str, str]:
            subject = _("[%(marking)s] Request #%(request)s waits for your decision") % facts
            body = _(
                '%(requester)s asks for %(kind)s "%(title)s" in %(allocation)s.\n\n'
                "Why: %(justification)s\n\nDecide: %(url)s"
            ) % {
                **facts,
                "requester": request.requester,
                "kind": request.get_kind_display().lower(),
                "allocation": request.allocation,
                "justification": request.justification,
                "url": _url(request),
            }
            return subject, body

    elif kind == "requester_decided":
        recipients = [request.requester]
        last = request.approvals.order_by("-decided_at").first()

        def render() -> tuple[str, str]:
            verdict = {**facts, "verdict": request.get_state_display().lower()}
            subject = _("[%(marking)s] Request #%(request)s %(verdict)s") % verdict
            body = _('Your request #%(request)s "%(title)s" was %(verdict)s.') % verdict
            if last and last.comment:
                body += "\n\n" + _("%(stage)s said: %(comment)s") % {
                    "stage": last.get_stage_display(),
                    "comment": last.comment,
                }
            return subject, body + f"\n\n{_url(request)}"

    elif kind == "requester_outcome":
        recipients = [request.requester]

        def render() -> tuple[str, str]:
            verdict = {**facts, "verdict": request.get_state_display().lower()}
            subject = _("[%(marking)s] Request #%(request)s %(verdict)s") % verdict
            body = _('Your request #%(request)s "%(title)s" is %(verdict)s.') % verdict
            if request.failure_reason:
                body += "\n\n" + _("Reason: %(reason)s") % {"reason": request.failure_reason}
            return subject, body + f"\n\n{_url(request)}"

    elif kind.startswith("deadline_"):
        if request.state != RequestState.PENDING_APPROVAL:
            return 0  # decided between the sweep and this message: nobody needs telling
        from provisioning.services.deadlines import decision_target, stage_since, waited_for

        whom = kind.removeprefix("deadline_")
        recipients = _deadline_recipients(request, whom)
        target = decision_target(request).total_seconds()
        waited = waited_for(request, stage_since(request), timezone.now()).total_seconds()
        working = request.allocation.region.domain.counts_working_time

        def render() -> tuple[str, str]:
            def spoken(seconds: float) -> str:
                if working:
                    return _("%(duration)s of working time") % {"duration": duration(seconds)}
                return duration(seconds)

            words = {**facts, "waited": spoken(waited), "target": spoken(target),
                     "stage": request.get_pending_stage_display(),
                     "requester": request.requester, "url": _url(request)}  # fmt: skip
            if whom == "remind":
                subject = _("[%(marking)s] Reminder: request #%(request)s waits for your decision")
                body = _(
                    'Request #%(request)s "%(title)s" by %(requester)s has waited %(waited)s for '
                    "a decision (%(stage)s); the target is %(target)s.\n\nDecide: %(url)s"
                )
            else:
                subject = _("[%(marking)s] Request #%(request)s is past its decision target")
                body = _(
                    'Request #%(request)s "%(title)s" by %(requester)s has waited %(waited)s for '
                    "a decision (%(stage)s), past its target of %(target)s. Its approvers were "
                    "reminded; please see that it is decided.\n\n%(url)s"
                )
            return subject % words, body % words

    else:
        raise ValueError(f"Unknown notification {kind!r}")
    default = f"request:{request.pk}:{kind}:{request.attempts}:{request.state}"
    return _deliver(event or default, recipients, render, request)


def _deadline_recipients(request: ResourceRequest, whom: str) -> list:
    if whom == "remind":
        return approvers_for(request)
    if whom == "managers":
        return list(
            get_user_model().objects.filter(
                is_active=True,
                memberships__tenant=request.allocation.tenant,
                memberships__role=Role.MANAGER,
            )
        )
    return list(operators())
