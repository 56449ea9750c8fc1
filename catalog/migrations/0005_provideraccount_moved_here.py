"""Provider accounts move from activations to the catalog app (issue 13); the table stays."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_provider_sync_settings_and_price_checks'),
        ('dashboard', '0003_auditevent_moved_here'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.CreateModel(
                        name='ProviderAccount',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('key_ciphertext', models.TextField(editable=False)),
                            ('key_last4', models.CharField(editable=False, max_length=4)),
                            ('balance', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                            ('balance_checked_at', models.DateTimeField(blank=True, null=True)),
                            ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                            ('polls', models.PositiveBigIntegerField(default=0)),
                            ('poll_changes', models.PositiveBigIntegerField(default=0)),
                            ('poll_errors', models.PositiveBigIntegerField(default=0)),
                            ('last_polled_at', models.DateTimeField(blank=True, null=True)),
                            ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                            ('provider', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='accounts', to='catalog.provider')),
                            ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='provider_accounts', to='dashboard.team')),
                        ],
                        options={
                            'db_table': 'activations_provideraccount',
                            'ordering': ['team', 'provider'],
                        },
                    ),
                    migrations.AlterField(
                        model_name='provider',
                        name='sync_account',
                        field=models.ForeignKey(blank=True, help_text="Whose key the catalog sync lists prices with. Empty: the sandbox's own key for the sandbox, else the account attached first.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='catalog.provideraccount'),
                    ),
                    migrations.AddConstraint(
                        model_name='provideraccount',
                        constraint=models.UniqueConstraint(fields=('team', 'provider'), name='one_account_per_team_provider'),
                    ),
            ],
        ),
    ]
