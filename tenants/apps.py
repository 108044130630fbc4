from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class TenantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tenants"
    verbose_name = gettext_lazy("Tenancy and access")

    def ready(self) -> None:
        """Any committed change that can widen or narrow someone's access makes every process
        forget what the access layer remembered (``tenants.access_memory``)."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from tenants.access_memory import changed
        from tenants.models import (
            Allocation,
            CloudRegion,
            Delegation,
            SecurityDomain,
            Site,
            Tenant,
            permissions,
        )

        user_model = get_user_model()
        # Tenants, sites and domains too: they are remembered with allocations
        # (provisioning.listing); and delegations, who stands in for whom
        # (tenants.delegations).
        watched = [Allocation, CloudRegion, Tenant, Site, SecurityDomain, Delegation]
        watched += [user_model, Group]
        watched += [
            permissions.TenantUserObjectPermission,
            permissions.TenantGroupObjectPermission,
            permissions.SiteUserObjectPermission,
            permissions.SiteGroupObjectPermission,
            permissions.SecurityDomainUserObjectPermission,
            permissions.SecurityDomainGroupObjectPermission,
        ]
        for model in watched:
            post_save.connect(changed, sender=model, dispatch_uid=f"access-{model}")
            post_delete.connect(changed, sender=model, dispatch_uid=f"access-del-{model}")
        for through in (
            user_model.groups.through,
            user_model.user_permissions.through,
            Group.permissions.through,
            Delegation.tenants.through,
        ):
            m2m_changed.connect(changed, sender=through, dispatch_uid=f"access-{through}")
