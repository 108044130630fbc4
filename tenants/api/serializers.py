"""REST representations of tenancy objects."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.models import Allocation, CloudRegion, Membership, SecurityDomain, Site, Tenant
from tenants.quotas import DIMENSIONS, usage_by_allocation


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "name", "slug", "location"]


class SecurityDomainSerializer(serializers.ModelSerializer):
    class Meta:
        model = SecurityDomain
        fields = [
            "id",
            "name",
            "slug",
            "level",
            "marking",
            "banner_colour",
            "requires_security_officer",
        ]


class CloudRegionSerializer(serializers.ModelSerializer):
    site = SiteSerializer(read_only=True)
    domain = SecurityDomainSerializer(read_only=True)

    class Meta:
        model = CloudRegion
        fields = ["id", "slug", "site", "domain", "region_name", "enabled", "availability_target"]


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "description", "parent"]


class QuotaUsageSerializer(serializers.Serializer):
    dimension = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()


class AllocationListSerializer(serializers.ListSerializer):
    """Computes usage for the whole page at once: a fixed number of queries, not one per row."""

    def to_representation(self, data):
        allocations = list(data.all() if hasattr(data, "all") else data)
        self.child.context["usage"] = usage_by_allocation(allocations)
        self.child.context["wording"] = quota_wording()
        return super().to_representation(allocations)


def quota_wording() -> dict[str, tuple[str, str]]:
    """Each dimension's label and unit in the answer's language, translated once per answer:
    a page of 50 allocations otherwise translates 800 lazy strings one by one."""
    return {d.key: (str(d.label), str(d.unit)) for d in DIMENSIONS}


class AllocationSerializer(serializers.ModelSerializer):
    tenant = TenantSerializer(read_only=True)
    region = CloudRegionSerializer(read_only=True)
    quotas = serializers.SerializerMethodField()

    class Meta:
        model = Allocation
        fields = ["id", "tenant", "region", "project_id", "quotas"]
        list_serializer_class = AllocationListSerializer

    @extend_schema_field(QuotaUsageSerializer(many=True))
    def get_quotas(self, allocation: Allocation) -> list[dict]:
        usage = self.context.get("usage", {}).get(allocation.pk)
        if usage is None:
            usage = usage_by_allocation([allocation])[allocation.pk]
        wording = self.context.get("wording") or quota_wording()
        return [
            {
                "dimension": u.dimension.key,
                "label": wording[u.dimension.key][0],
                "unit": wording[u.dimension.key][1],
                "used": u.used,
                "limit": u.limit,
                "remaining": u.remaining,
            }
            for u in usage
        ]


class MembershipSerializer(serializers.ModelSerializer):
    tenant = TenantSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "tenant", "role", "created_at"]
