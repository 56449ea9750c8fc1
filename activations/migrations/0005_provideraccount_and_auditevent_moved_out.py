"""ProviderAccount (to catalog) and AuditEvent (to dashboard) leave this app's state; their
tables, rows and constraints stay as they are. Their content types follow them, so admin
permissions and history keep pointing at the same rows."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = {"provideraccount": "catalog", "auditevent": "dashboard"}


def _relabel(apps, old_of, new_of) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, app in MOVED.items():
        if not content_type.objects.filter(app_label=new_of(app), model=model).exists():
            content_type.objects.filter(app_label=old_of(app), model=model).update(
                app_label=new_of(app)
            )


def move_content_types(apps, schema_editor) -> None:
    _relabel(apps, old_of=lambda app: "activations", new_of=lambda app: app)


def move_content_types_back(apps, schema_editor) -> None:
    _relabel(apps, old_of=lambda app: app, new_of=lambda app: "activations")


class Migration(migrations.Migration):

    dependencies = [
        ('activations', '0004_price_not_negative'),
        ('catalog', '0005_provideraccount_moved_here'),
        ('dashboard', '0003_auditevent_moved_here'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                    migrations.RemoveIndex(
                        model_name='auditevent',
                        name='audit_team_created',
                    ),
                    migrations.RemoveConstraint(
                        model_name='provideraccount',
                        name='one_account_per_team_provider',
                    ),
                    migrations.AlterField(
                        model_name='activation',
                        name='account',
                        field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='activations', to='catalog.provideraccount'),
                    ),
                    migrations.RemoveField(
                        model_name='provideraccount',
                        name='created_by',
                    ),
                    migrations.RemoveField(
                        model_name='provideraccount',
                        name='provider',
                    ),
                    migrations.RemoveField(
                        model_name='provideraccount',
                        name='team',
                    ),
                    migrations.DeleteModel(
                        name='AuditEvent',
                    ),
                    migrations.DeleteModel(
                        name='ProviderAccount',
                    ),
            ],
            database_operations=[
                migrations.RunPython(move_content_types, move_content_types_back),
            ],
        ),
    ]
