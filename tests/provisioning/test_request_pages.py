"""The request forms (form -> plan -> submit), the request page and its buttons."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from provisioning import services
from provisioning.models import Kind, RequestState, ResourceRequest
from tests.factories import make_user

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."


def form_data(shop, **overrides):
    data = {"allocation": shop.low.pk, "name": "web", "flavor": "m1.small", "image": "debian-12"}
    return {**data, "networks": [shop.low_net.pk], "count": 1, "justification": WHY, **overrides}


def test_form_lists_only_allocations_the_user_may_request_in(client, shop):
    outsider = make_user("viewer-only", memberships={shop.tenant: "viewer"},
                         domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    client.force_login(outsider)
    page = client.get(reverse("request-create-server")).content.decode()
    assert "none of your tenants gives you the requester role" in page

    client.force_login(shop.requester)
    page = client.get(reverse("request-create-server")).content.decode()
    assert f'value="{shop.low.pk}"' in page and f'value="{shop.high.pk}"' in page


def test_plan_then_submit(client, shop):
    client.force_login(shop.requester)
    url = reverse("request-create-server")

    plan = client.post(url, {**form_data(shop, count=2), "action": "plan"})
    text = plan.content.decode()
    assert plan.status_code == 200
    assert "web-1, web-2" in text and "Submit request" in text
    assert not ResourceRequest.objects.exists()

    done = client.post(url, {**form_data(shop, count=2), "action": "submit"})
    request = ResourceRequest.objects.get()
    assert done.status_code == 302 and done.url == request.get_absolute_url()
    assert (request.kind, request.instances, request.requester) == (Kind.SERVER, 2, shop.requester)


def test_field_errors_keep_what_was_typed(client, shop):
    client.force_login(shop.requester)
    page = client.post(
        reverse("request-create-server"),
        {**form_data(shop, name="Bad_Name", flavor="m9.huge"), "action": "plan"},
    )
    text = page.content.decode()
    assert "Not a valid name. Use 1 to 63 lower-case letters" in text
    assert "Select a valid choice. m9.huge is not one of the available choices." in text
    assert 'value="Bad_Name"' in text
    assert WHY in text


def test_over_quota_plan_names_the_dimension_and_numbers(client, shop):
    client.force_login(shop.requester)
    page = client.post(
        reverse("request-create-server"),
        {**form_data(shop, flavor="m1.large", count=3), "action": "plan"},
    )
    text = page.content.decode()
    assert "Quota exceeded" in text
    assert "vCPUs 0 of 20 used, this request needs 24." in text
    assert "Submit request" not in text


def test_network_form_plan_and_submit(client, shop):
    client.force_login(shop.requester)
    data = {"allocation": shop.low.pk, "name": "app", "cidr": "10.9.0.0/24", "router": "on",
            "justification": WHY}  # fmt: skip
    plan = client.post(reverse("request-create-network"), {**data, "action": "plan"})
    assert "10.9.0.0/24" in plan.content.decode() and "gateway 10.9.0.1" in plan.content.decode()
    client.post(reverse("request-create-network"), {**data, "action": "submit"})
    assert ResourceRequest.objects.get().spec["router"] is True


def test_quota_preview_fragment(client, shop):
    client.force_login(shop.requester)
    page = client.post(reverse("request-preview-server"), form_data(shop, count=2))
    text = page.content.decode()
    assert "vCPUs" in text and "+4" in text


def test_request_page_polls_while_in_flight_and_stops_after(client, shop):
    request = services.request_submit(
        user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
        spec={"name": "app", "cidr": "10.9.0.0/24"}, justification=WHY,
    )  # fmt: skip
    client.force_login(shop.requester)
    page = client.get(request.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert '<span id="request-state" class="state state-pending_approval">Pending approval' in page

    services.request_reject(user=shop.approver, request=request, comment="Use the shared one.")
    fragment = client.get(request.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    assert 'hx-trigger="every 2s"' not in fragment
    assert "Rejected" in fragment and "Use the shared one." in fragment


def test_cancel_and_retry_buttons(client, shop):
    request = services.request_submit(
        user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
        spec={"name": "app", "cidr": "10.9.0.0/24"}, justification=WHY,
    )  # fmt: skip
    client.force_login(shop.approver2)
    assert "Cancel request" not in client.get(request.get_absolute_url()).content.decode()
    client.post(reverse("request-cancel", args=[request.pk]))
    request.refresh_from_db()
    assert request.state == RequestState.PENDING_APPROVAL

    client.force_login(shop.requester)
    client.post(reverse("request-cancel", args=[request.pk]))
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED


def test_request_of_another_tenant_is_not_found(client, shop):
    request = services.request_submit(
        user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
        spec={"name": "app", "cidr": "10.9.0.0/24"}, justification=WHY,
    )  # fmt: skip
    client.force_login(make_user("nosy", domains=(shop.unclass,), sites=(shop.site,)))
    assert client.get(request.get_absolute_url()).status_code == 404
    assert client.post(reverse("request-cancel", args=[request.pk])).status_code == 404


def test_quota_preview_answers_before_the_form_is_complete(client, shop):
    client.force_login(shop.requester)
    page = client.post(reverse("request-preview-server"),
                       {"allocation": shop.low.pk, "flavor": "m1.large", "count": 3})  # fmt: skip
    text = page.content.decode()
    assert "+24" in text
    assert "Over quota: vCPUs 0 of 20 used, this request needs 24." in text


def test_change_from_the_plan_returns_the_filled_form(client, shop):
    client.force_login(shop.requester)
    data = {"allocation": shop.low.pk, "name": "app", "cidr": "10.9.0.0/24",
            "justification": WHY}  # router left unticked  # fmt: skip
    page = client.post(reverse("request-create-network"), {**data, "action": "edit"})
    text = page.content.decode()
    assert 'value="app"' in text and 'value="10.9.0.0/24"' in text and WHY in text
    assert 'name="router" id="id_router" checked' not in text
    assert "errorlist" not in text


def test_a_count_of_zero_or_less_previews_nothing_and_long_names_leave_room_for_the_suffix(
    client, shop
):
    client.force_login(shop.requester)
    for count in ("0", "-1"):
        form = {"allocation": shop.low.pk, "flavor": "m1.large", "count": count}
        page = client.post(reverse("request-preview-server"), form)
        assert "+" not in page.content.decode(), count
    name = "a" * 62
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER, allocation=shop.low, justification=WHY,
            spec={"name": name, "flavor": "m1.small", "image": "debian-12",
                  "networks": [shop.low_net.pk], "count": 2},
        )  # fmt: skip
    assert err.value.message_dict["count"] == [
        f"With 2 servers the names end in -1 … -2: {name}-2 has 64 characters, at most 63. "
        "Shorten the name."
    ]
    one = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low, justification=WHY,
        spec={"name": name, "flavor": "m1.small", "image": "debian-12",
              "networks": [shop.low_net.pk], "count": 1},
    )  # fmt: skip
    assert one.spec["name"] == name
