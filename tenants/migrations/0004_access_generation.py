import time

from django.db import migrations, models


def first_generation(apps, schema_editor):
    # Nanoseconds, not 1: a database emptied and migrated again never repeats an old value.
    apps.get_model("tenants", "AccessGeneration").objects.using(
        schema_editor.connection.alias
    ).get_or_create(id=1, defaults={"value": time.time_ns()})


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_allocation_usage"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessGeneration",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
            ],
            options={"db_table": "tenants_accessgeneration"},
        ),
        migrations.RunPython(first_generation, migrations.RunPython.noop),
    ]
