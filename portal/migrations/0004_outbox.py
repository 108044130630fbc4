import django.core.serializers.json
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_audit_sealing"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "task",
                    models.CharField(help_text="The Celery task's registered name.", max_length=200),
                ),
                (
                    "args",
                    models.JSONField(
                        default=list, encoder=django.core.serializers.json.DjangoJSONEncoder
                    ),
                ),
                (
                    "kwargs",
                    models.JSONField(
                        default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder
                    ),
                ),
                ("created_at", models.DateTimeField(db_index=True)),
                (
                    "not_before",
                    models.DateTimeField(help_text="Run no earlier than this (a countdown)."),
                ),
            ],
            options={"ordering": ["id"]},
        ),
    ]
