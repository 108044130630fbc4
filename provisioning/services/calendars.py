"""When the clock a target counts changes: a domain's hours or clock, a site's zone or holidays.

The SLA facts keep their working-time durations (``provisioning.sla_facts.clock``), so an edit
of the calendar has them computed again, in the background: the edit enqueues the work in its
own transaction (outbox), and the task walks the facts of that domain or site in chunks. Until
it has run, the report reads what the facts held.
"""

from __future__ import annotations

from portal.outbox import enqueue

#: The fields whose change moves the working-time figures.
DOMAIN_CLOCK_FIELDS = frozenset({"sla_clock", "working_days", "working_from", "working_until"})
SITE_CLOCK_FIELDS = frozenset({"timezone", "country", "holiday_subdivision"})


def sla_clocks_changed(*, domain=None, site=None, fields=None) -> int | None:
    """Have the facts of ``domain`` or ``site`` counted anew if ``fields`` (the names edited;
    ``None``: any) touch their calendar. Returns the outbox message's id, if one was needed."""
    watched = DOMAIN_CLOCK_FIELDS if domain is not None else SITE_CLOCK_FIELDS
    if fields is not None and not watched & set(fields):
        return None
    return enqueue(
        "provisioning.tasks.sla_clocks_refresh",
        domain_id=getattr(domain, "pk", None),
        site_id=getattr(site, "pk", None),
    )
