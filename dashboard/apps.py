from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def after_migrate(sender, using, **kwargs) -> None:
    """Bring the cache table and the periodic jobs in line with the code after every migrate."""
    from django.core.management import call_command

    from dashboard.schedules import ensure_schedules

    # A no-op unless CACHES uses the database (the default without REDIS_URL).
    call_command("createcachetable", database=using, verbosity=0)
    ensure_schedules(using=using)


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Teams")

    def ready(self) -> None:
        from dashboard import checks  # noqa: F401 (registers the system checks)

        # Sent once per app on each migrate; we listen to our own only, so this runs once.
        post_migrate.connect(after_migrate, sender=self, dispatch_uid="dashboard.after_migrate")
