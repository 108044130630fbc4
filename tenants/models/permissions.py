"""Guardian's direct foreign-key permission tables for the objects access is granted on.

Direct foreign keys (rather than guardian's generic tables) let the access layer filter with
plain indexed subqueries.
"""

from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from tenants.models.places import SecurityDomain, Site
from tenants.models.tenancy import Tenant


class TenantUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Tenant, on_delete=models.CASCADE)


class TenantGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Tenant, on_delete=models.CASCADE)


class SecurityDomainUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(SecurityDomain, on_delete=models.CASCADE)


class SecurityDomainGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(SecurityDomain, on_delete=models.CASCADE)


class SiteUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Site, on_delete=models.CASCADE)


class SiteGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Site, on_delete=models.CASCADE)
