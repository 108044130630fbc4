from django.apps import AppConfig


class TenantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tenants"
    verbose_name = "Tenancy and access"

    def ready(self) -> None:
        """Any change that can widen or narrow someone's access forgets what the access layer
        remembered on user objects in this process (``tenants.access._allowed_anchors``)."""
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from tenants.access import access_changed
        from tenants.models import Allocation, CloudRegion, permissions

        watched = [Allocation, CloudRegion]
        watched += [
            permissions.TenantUserObjectPermission,
            permissions.TenantGroupObjectPermission,
            permissions.SiteUserObjectPermission,
            permissions.SiteGroupObjectPermission,
            permissions.SecurityDomainUserObjectPermission,
            permissions.SecurityDomainGroupObjectPermission,
        ]
        for model in watched:
            post_save.connect(access_changed, sender=model, dispatch_uid=f"access-{model}")
            post_delete.connect(access_changed, sender=model, dispatch_uid=f"access-del-{model}")
        groups = get_user_model().groups.through
        m2m_changed.connect(access_changed, sender=groups, dispatch_uid="access-groups")
