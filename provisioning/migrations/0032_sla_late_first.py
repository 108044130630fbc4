"""The SLA report's most overdue requests first, read per domain from indexes.

An operator's first page of late requests computed how late every request of the period was
and kept the 50 most overdue: 828,000 breaches at a million requests, 250-480 ms. Per domain
and target, the longest finished waits are now read from the top of an index of the durations,
and the waits still open from an index of when they ended (not yet: NULL); each reads about 50
rows (``provisioning.sla._late_first``).
"""

from django.db import migrations, models

from portal.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    # Built concurrently on PostgreSQL (outside a transaction): requests go on moving.
    atomic = False

    dependencies = [
        ('provisioning', '0031_demand_by_region_and_hour'),
        ('tenants', '0011_working_time'),
    ]

    operations = [
        AddIndexOnline(
            model_name='slafact',
            index=models.Index(
                condition=models.Q(('decision_seconds__isnull', False)),
                fields=['domain', 'decision_seconds'], name='slafact_decision_took_idx',
            ),
        ),
        AddIndexOnline(
            model_name='slafact',
            index=models.Index(
                condition=models.Q(('build_seconds__isnull', False)),
                fields=['domain', 'build_seconds'], name='slafact_build_took_idx',
            ),
        ),
        AddIndexOnline(
            model_name='slafact',
            index=models.Index(fields=['domain', 'decided_at'], name='slafact_decision_open_idx'),
        ),
        AddIndexOnline(
            model_name='slafact',
            index=models.Index(
                condition=models.Q(('approved_at__isnull', False)),
                fields=['domain', 'completed_at'], name='slafact_build_open_idx',
            ),
        ),
    ]
