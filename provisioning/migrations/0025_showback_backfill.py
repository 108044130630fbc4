"""Usage spans for the resources that exist already: one per resource, from its creation with
the size it has now (the portal kept no earlier sizes), closed at its deletion for those gone.

One INSERT ... SELECT per kind on PostgreSQL; row by row elsewhere (the demo's SQLite).
"""

from django.db import migrations

STOPPED = ("SHUTOFF", "SUSPENDED", "PAUSED", "SHELVED", "SHELVED_OFFLOADED")
SELECTS = {
    "server": "SELECT 'server', id, allocation_id, vcpus, ram_mb, boot_volume_gb, "
              "status <> ALL(%s), created_at, deleted_at FROM provisioning_server",
    "volume": "SELECT 'volume', id, allocation_id, 0, 0, size_gb, true, created_at, deleted_at "
              "FROM provisioning_volume",
    "floatingip": "SELECT 'floatingip', id, allocation_id, 0, 0, 0, true, created_at, "
                  "deleted_at FROM provisioning_floatingip",
}  # fmt: skip
COLUMNS = "kind, resource_id, allocation_id, vcpus, ram_mb, gb, running, started_at, ended_at"


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for kind, select in SELECTS.items():
                params = [list(STOPPED)] if kind == "server" else []
                cursor.execute(
                    f"INSERT INTO provisioning_usagespan ({COLUMNS}) {select} "
                    "WHERE deleted_at IS NULL OR deleted_at > created_at",
                    params,
                )
        return
    UsageSpan = apps.get_model("provisioning", "UsageSpan")
    for kind, name in (("server", "Server"), ("volume", "Volume"), ("floatingip", "FloatingIp")):
        spans = []
        for row in apps.get_model("provisioning", name).objects.all().iterator():
            if row.deleted_at is not None and row.deleted_at <= row.created_at:
                continue
            spans.append(UsageSpan(
                kind=kind, resource_id=row.pk, allocation_id=row.allocation_id,
                vcpus=getattr(row, "vcpus", 0), ram_mb=getattr(row, "ram_mb", 0),
                gb=getattr(row, "size_gb", 0) or getattr(row, "boot_volume_gb", 0),
                running=getattr(row, "status", "") not in STOPPED if kind == "server" else True,
                started_at=row.created_at, ended_at=row.deleted_at,
            ))  # fmt: skip
        UsageSpan.objects.bulk_create(spans, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0024_showback")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
