"""REST representations of tenancy objects."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.models import Allocation, CloudRegion, Membership, SecurityDomain, Site, Tenant
from tenants.quotas import DIMENSIONS, QuotaUsage, usage_by_allocation
from tenants.rollup import usage_kept


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
    """Usage for the whole page at once, from the kept rollup (``tenants.rollup.usage_kept``):
    the page's allocations read their rows beside them, where computing it live cost five
    grouped sums over every live resource and request in flight of the page's allocations."""

    def to_representation(self, data):
        allocations = list(data.all() if hasattr(data, "all") else data)
        self.child.context["kept_usage"] = usage_kept(allocations)
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
    usage_as_of = serializers.SerializerMethodField(
        help_text="When the quotas' `used` figures were computed: in a list, from the usage kept "
        "up to date on every committed change (seconds old at most, unless a change bypassed "
        "the portal; the reconciler rechecks every 15 minutes). Null: computed for this "
        "answer (a single allocation, or one with no kept figures yet)."
    )

    class Meta:
        model = Allocation
        fields = ["id", "tenant", "region", "project_id", "quotas", "usage_as_of"]
        list_serializer_class = AllocationListSerializer

    def _usage(self, allocation: Allocation) -> tuple[list[QuotaUsage], datetime | None]:
        kept = self.context.get("kept_usage", {}).get(allocation.pk)
        if kept is None:
            kept = (usage_by_allocation([allocation])[allocation.pk], None)
            self.context.setdefault("kept_usage", {})[allocation.pk] = kept
        return kept

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_usage_as_of(self, allocation: Allocation) -> str | None:
        moment = self._usage(allocation)[1]
        return serializers.DateTimeField().to_representation(moment) if moment else None

    @extend_schema_field(QuotaUsageSerializer(many=True))
    def get_quotas(self, allocation: Allocation) -> list[dict]:
        usage = self._usage(allocation)[0]
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
