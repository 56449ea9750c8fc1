"""`manage.py sync_catalog [--provider NAME] [--kind full|countries|prices]`: sync in the
foreground and print one summary line per provider."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Provider, SyncRun
from catalog.sync.run import summary, sync_provider


class Command(BaseCommand):
    help = "Sync the catalog of every enabled provider (or one) now, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="Only the provider with this name.")
        parser.add_argument(
            "--kind",
            choices=SyncRun.Kind.values,
            default=SyncRun.Kind.FULL,
            help="countries, prices, or full (both; the default).",
        )

    def handle(self, *args, provider: str | None, kind: str, **options) -> None:
        providers = Provider.objects.filter(enabled=True)
        if provider:
            providers = Provider.objects.filter(name=provider)
            if not providers.exists():
                raise CommandError(f"No provider named {provider!r}.")
        for each in providers:
            run = sync_provider(each, kind)
            if run is None:
                self.stdout.write(f"{each.name}: skipped, another sync is running")
                continue
            self.stdout.write(f"{each.name}: {summary(run)}")
            for error in run.errors[:3]:
                self.stderr.write(f"{each.name}: {error['error']}")
            if run.error_count > 3:
                self.stderr.write(f"{each.name}: ... {run.error_count - 3} more errors")
