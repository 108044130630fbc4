"""Constants written into a statement's text: only the portal's own plain choices."""

from __future__ import annotations

import pytest
from django.db import models

from portal.literals import Literal
from provisioning.models import RequestState, ResourceRequest, Stage


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
