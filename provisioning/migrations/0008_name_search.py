"""Indexes for the lists' search box (``?q=``: the name contains, or the cloud id is).

On PostgreSQL the name is searched through a trigram index (``pg_trgm``, a trusted extension
the database owner may create): ``name ILIKE '%vm-a1%'`` read every live server of a million
(1.2 s for an operator) without one. Other databases (the newcomer's SQLite) scan; their lists
are small.
"""

from django.db import DatabaseError, migrations, models

from portal.migration_operations import AddIndexOnline

TRIGRAM_INDEXES = {
    "provisioning_server": "server_live_name_trgm",
    "provisioning_network": "network_live_name_trgm",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        # Not the database's owner, and no one created it: searches work, without the index.
        # docs/operations.md says how to add it later.
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
    # The indexes are built concurrently on PostgreSQL: outside a transaction.
    atomic = False

    dependencies = [
        ("provisioning", "0007_dashboard_indexes"),
    ]

    operations = [
        AddIndexOnline(
            model_name="network",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["backend_id"],
                name="network_live_backend",
            ),
        ),
        AddIndexOnline(
            model_name="server",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["backend_id"],
                name="server_live_backend",
            ),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
