"""The audit log moves from activations to the dashboard app (issue 13); its table stays."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dashboard', '0002_invitation_revoked_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.CreateModel(
                        name='AuditEvent',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                            ('kind', models.CharField(choices=[('call', 'Upstream call'), ('action', 'User action')], max_length=8)),
                            ('action', models.CharField(max_length=64)),
                            ('object_type', models.CharField(blank=True, max_length=64)),
                            ('object_id', models.CharField(blank=True, max_length=64)),
                            ('params', models.JSONField(blank=True, default=dict)),
                            ('answer', models.TextField(blank=True)),
                            ('http_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                            ('latency_ms', models.PositiveIntegerField(blank=True, null=True)),
                            ('outcome', models.CharField(blank=True, max_length=64)),
                            ('ip', models.GenericIPAddressField(blank=True, null=True)),
                            ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_events', to='dashboard.team')),
                            ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_events', to=settings.AUTH_USER_MODEL)),
                        ],
                        options={
                            'db_table': 'activations_auditevent',
                            'ordering': ['-created_at'],
                            'indexes': [models.Index(fields=['team', 'created_at'], name='audit_team_created')],
                        },
                    ),
            ],
        ),
    ]
