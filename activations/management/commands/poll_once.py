"""`manage.py poll_once`: one pass of the poller in the foreground, for debugging.

Claims every open activation that is due now (with --all: every open one), asks the
provider once about each (expiring those past their lifetime), stores what changed and
prints what it did.
"""

from django.core.management.base import BaseCommand

from activations.models import Activation
from activations.poller import Poller


class Command(BaseCommand):
    help = "Poll every due open activation once and print what it did."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Poll every open activation, due or not."
        )

    def handle(self, *args, **options):
        open_activations = Activation.objects.filter(state__in=Activation.OPEN_STATES)
        self.stdout.write(f"Open activations: {open_activations.count()}")
        poller = Poller()
        summary = poller.run_once(all_open=options["all"])
        self.stdout.write(f"Poller {poller.worker_id}: {summary}")
        for line in summary.changes:
            self.stdout.write(f"  {line}")
