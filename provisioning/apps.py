from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "provisioning"
    verbose_name = _("Provisioning")

    def ready(self) -> None:
        from provisioning.usage import provisioning_usage
        from tenants.quotas import register_usage_source

        register_usage_source(provisioning_usage)

        from provisioning.services.allocations import on_allocation_changed
        from tenants.signals import allocation_changed

        allocation_changed.connect(on_allocation_changed, dispatch_uid="provisioning-sync")
