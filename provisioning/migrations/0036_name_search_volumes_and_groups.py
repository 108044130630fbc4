"""The search box of the volumes and security groups lists, indexed as the servers' is.

``name ILIKE '%vol-a1%'`` read every live volume (250,000 beside a million servers) for an
operator without a trigram index; migration 0008 made them for servers and networks only.
Other databases (the newcomer's SQLite) scan; their lists are small.
"""

from django.db import DatabaseError, migrations

TRIGRAM_INDEXES = {
    "provisioning_volume": "volume_live_name_trgm",
    "provisioning_securitygroup": "securitygroup_live_name_trgm",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        # As in 0008: searches work without the index; docs/operations.md says how to add it.
        print("\n  pg_trgm is not available: name searches will not be indexed.")
        return
    for table, name in TRIGRAM_INDEXES.items():
        # The expression Django writes for name__icontains, so the planner can match it.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            "USING gin (UPPER(name::text) gin_trgm_ops) WHERE deleted_at IS NULL"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES.values():
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    # Built concurrently on PostgreSQL: outside a transaction.
    atomic = False

    dependencies = [
        ("provisioning", "0035_requests_in_flight_by_allocation"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
