"""Model constraints and validation messages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tenants.models import Allocation, CloudRegion, Membership, Role, SecurityDomain
from tests.factories import (
    AllocationFactory,
    CloudRegionFactory,
    SecurityDomainFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_one_region_per_site_and_domain():
    region = CloudRegionFactory()
    duplicate = CloudRegion(
        site=region.site, domain=region.domain, slug="other", cloud_name="x", region_name="y"
    )
    with pytest.raises(ValidationError) as err:
        duplicate.full_clean()
    assert "already has a region for this security domain" in str(err.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_one_allocation_per_tenant_and_region():
    allocation = AllocationFactory()
    duplicate = Allocation(tenant=allocation.tenant, region=allocation.region)
    with pytest.raises(ValidationError) as err:
        duplicate.full_clean()
    assert "already has an allocation in this region" in str(err.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_a_project_maps_to_one_allocation_per_region_but_empty_ids_do_not_clash():
    region = CloudRegionFactory()
    AllocationFactory(region=region, project_id="")
    AllocationFactory(region=region, project_id="")
    AllocationFactory(region=region, project_id="abc")
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationFactory(region=region, project_id="abc")


def test_quotas_cannot_be_negative():
    allocation = AllocationFactory()
    allocation.vcpus = -1
    with pytest.raises(ValidationError) as err:
        allocation.full_clean()
    assert "vcpus" in err.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        allocation.save()


def test_no_new_allocation_in_a_disabled_region():
    region = CloudRegionFactory(enabled=False)
    with pytest.raises(ValidationError) as err:
        Allocation(tenant=TenantFactory(), region=region).full_clean()
    assert "is disabled" in err.value.message_dict["region"][0]


def test_membership_is_unique_and_its_role_valid():
    user, tenant = UserFactory(), TenantFactory()
    Membership.objects.create(user=user, tenant=tenant, role=Role.VIEWER)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, tenant=tenant, role=Role.MANAGER)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=UserFactory(), tenant=tenant, role="emperor")


def test_a_tenant_cannot_be_its_own_ancestor():
    root = TenantFactory()
    child = TenantFactory(parent=root)
    root.parent = child
    with pytest.raises(ValidationError) as err:
        root.full_clean()
    assert "own parent or one of its own descendants" in err.value.message_dict["parent"][0]
    root.parent = root
    with pytest.raises(ValidationError):
        root.full_clean()


def test_banner_colour_is_validated_and_text_colour_contrasts():
    domain = SecurityDomainFactory(banner_colour="#ffff00")
    assert domain.banner_text_colour == "#000000"
    domain.banner_colour = "#c8102e"
    assert domain.banner_text_colour == "#ffffff"
    domain.banner_colour = "red"
    with pytest.raises(ValidationError) as err:
        domain.full_clean()
    assert "six hex digits" in err.value.message_dict["banner_colour"][0]


def test_domain_levels_are_unique():
    SecurityDomainFactory(level=50)
    with pytest.raises(IntegrityError), transaction.atomic():
        SecurityDomain.objects.create(name="x", slug="x", level=50, marking="X")


def test_roles_are_ordered():
    assert Role.MANAGER.includes(Role.APPROVER)
    assert Role.APPROVER.includes(Role.REQUESTER)
    assert not Role.VIEWER.includes(Role.REQUESTER)
