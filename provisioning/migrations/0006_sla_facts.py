"""SLA facts: one row per request for the SLA report, backfilled from the timeline.

The backfill is one INSERT ... SELECT on PostgreSQL (provisioning.sla_facts.rebuild); the
indexes are made after it, which is faster than keeping them up to date row by row.
"""

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from provisioning.sla_facts import rebuild

        with schema_editor.connection.cursor() as cursor:
            rebuild(cursor)
        return
    # SQLite (the demo): request by request with the historical models; small by nature.
    from provisioning.sla_facts import move

    ResourceRequest = apps.get_model("provisioning", "ResourceRequest")
    SlaFact = apps.get_model("provisioning", "SlaFact")
    for request in ResourceRequest.objects.select_related("allocation__region").iterator():
        region = request.allocation.region
        fact = SlaFact(request_id=request.pk, allocation_id=request.allocation_id,
                       tenant_id=request.allocation.tenant_id, site_id=region.site_id,
                       domain_id=region.domain_id, kind=request.kind, created_at=request.created_at)
        for transition in request.transitions.order_by("at", "id"):
            move(fact, transition.to_state, transition.at)
        fact.state = request.state
        fact.save()


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0005_list_indexes'),
        ('tenants', '0002_domain_sla_targets'),
    ]

    operations = [
        migrations.CreateModel(
            name='SlaFact',
            fields=[
                ('request', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='sla_fact', serialize=False, to='provisioning.resourcerequest')),
                ('kind', models.CharField(choices=[('server', 'New server(s)'), ('network', 'New network'), ('server_start', 'Start server'), ('server_stop', 'Stop server'), ('server_reboot', 'Reboot server'), ('server_decommission', 'Decommission server'), ('network_decommission', 'Decommission network')], max_length=30)),
                ('state', models.CharField(choices=[('pending_approval', 'Pending approval'), ('approved', 'Approved'), ('provisioning', 'Provisioning'), ('completed', 'Completed'), ('failed', 'Failed'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled')], max_length=30)),
                ('created_at', models.DateTimeField(help_text="The request's: what a report's period counts.")),
                ('submitted_at', models.DateTimeField(help_text='First submission.', null=True)),
                ('decided_at', models.DateTimeField(help_text='First decision.', null=True)),
                ('approved_at', models.DateTimeField(help_text='First approval.', null=True)),
                ('completed_at', models.DateTimeField(help_text='Completion (after any retries).', null=True)),
                ('decision_seconds', models.FloatField(help_text='Submitted to first decision.', null=True)),
                ('build_seconds', models.FloatField(help_text='First approval to completion.', null=True)),
                ('allocation', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.allocation')),
                ('domain', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.securitydomain')),
                ('site', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.site')),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
            ],
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='slafact',
            index=models.Index(fields=['created_at'], name='slafact_period_idx'),
        ),
        migrations.AddIndex(
            model_name='slafact',
            index=models.Index(fields=['allocation', 'created_at'], name='slafact_alloc_period_idx'),
        ),
        migrations.AddIndex(
            model_name='slafact',
            index=models.Index(fields=['domain', 'kind', 'created_at'], name='slafact_domain_idx'),
        ),
        migrations.AddIndex(
            model_name='slafact',
            index=models.Index(fields=['site', 'kind', 'created_at'], name='slafact_site_idx'),
        ),
        migrations.AddIndex(
            model_name='slafact',
            index=models.Index(fields=['tenant', 'kind', 'created_at'], name='slafact_tenant_idx'),
        ),
    ]
