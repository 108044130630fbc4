"""Values written into a statement's text: only the portal's own plain choices and int ids."""

from __future__ import annotations

import pytest
from django.db import models
from django.db.models import Q

from portal.literals import IdsIn, Literal
from provisioning.models import RequestState, ResourceRequest, Stage
from tenants.models import Allocation


class _Odd(models.TextChoices):
    QUOTE = "it's", "quote"


@pytest.mark.parametrize("value", ["operator", 3, _Odd.QUOTE, "x' OR '1'='1"])
def test_only_a_plain_choice_may_be_written(value):
    """A bare string (even a stage's value), a number, or a choice with a quote in it."""
    with pytest.raises(ValueError):
        Literal(value)


def test_the_value_is_in_the_text_and_the_rows_are_those_bound_values_find(world):
    from tests.factories import make_user

    asker = make_user("asker")
    allocation = world.allocations[(0, 0)]
    for state, stage in [
        (RequestState.PENDING_APPROVAL, Stage.OPERATOR),
        (RequestState.PENDING_APPROVAL, Stage.TENANT),
        (RequestState.REJECTED, Stage.OPERATOR),
    ]:
        ResourceRequest.objects.create(
            kind="network", allocation=allocation, requester=asker, justification="a test",
            state=state, pending_stage=stage,
        )  # fmt: skip
    written = ResourceRequest.objects.filter(
        state=Literal(RequestState.PENDING_APPROVAL), pending_stage=Literal(Stage.OPERATOR)
    )
    sql, params = written.query.sql_with_params()
    assert "'pending_approval'" in sql and "'operator'" in sql
    assert not {"pending_approval", "operator"} & set(map(str, params))
    bound = ResourceRequest.objects.filter(
        state=RequestState.PENDING_APPROVAL, pending_stage=Stage.OPERATOR
    )
    assert len(written) == 1
    assert list(written) == list(bound)


@pytest.mark.parametrize("ids", [["1"], [1, True], [1.0], [1, "2); DROP TABLE x; --"]])
def test_only_int_ids_may_be_written(ids):
    with pytest.raises(TypeError):
        IdsIn("pk", ids)


def test_ids_are_in_the_text_and_find_what_bound_ids_find(world):
    allocations = sorted(a.pk for a in world.allocations.values())
    chosen = allocations[:2]
    written = Allocation.objects.filter(Q(IdsIn("pk", chosen)))
    sql, params = written.query.sql_with_params()

    assert f"IN ({chosen[0]}, {chosen[1]})" in sql
    assert params == ()
    assert list(written) == list(Allocation.objects.filter(pk__in=chosen))
    # Through a relation, negated, and empty (nothing is in no ids).
    regions = {world.allocations[(0, 0)].region_id}
    assert list(Allocation.objects.filter(IdsIn("region", regions))) == list(
        Allocation.objects.filter(region__in=regions)
    )
    assert list(Allocation.objects.exclude(IdsIn("pk", chosen))) == list(
        Allocation.objects.exclude(pk__in=chosen)
    )
    assert not Allocation.objects.filter(IdsIn("pk", [])).exists()
    assert Allocation.objects.exclude(IdsIn("pk", [])).count() == len(allocations) * 2


def test_the_access_layer_writes_the_allocations_it_lists(world):
    from tenants.models import Role
    from tests.factories import make_user

    member = make_user(
        "mia", memberships={world.tenant: Role.REQUESTER}, domains=tuple(world.domains),
        sites=tuple(world.sites),
    )  # fmt: skip
    sql, params = ResourceRequest.objects.restrict(member).query.sql_with_params()
    mine = sorted(a.pk for a in world.allocations.values())

    assert f'"allocation_id" IN ({", ".join(map(str, mine))})' in sql
    assert not set(mine) & set(params)


def test_quota_usage_writes_its_allocations_and_refuses_anything_else(world):
    """The usage statement names its allocations in its text, its states bound; anything but
    an int id never reaches the text."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from provisioning.usage import provisioning_usage

    mine = sorted(a.pk for a in world.allocations.values())
    with CaptureQueriesContext(connection) as queries:
        provisioning_usage(mine)
    (sent,) = queries.captured_queries
    assert f"allocation_id IN ({', '.join(map(str, mine))})" in sent["sql"]
    for odd in (["1) OR (1=1"], [1.0], [True]):
        with pytest.raises(TypeError):
            provisioning_usage(odd)
