"""Signals tenancy sends so that other apps can follow changes without tenants knowing them.

``allocation_changed`` fires (after the change is saved) when an allocation is created or its
region, project or quotas change; provisioning answers by bringing the cloud in line.
"""

from django.dispatch import Signal

allocation_changed = Signal()  # sender=Allocation, allocation=..., created=bool
