"""`manage.py setup_demo`: the demo team and its owner, created once; safe to run again."""

import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

from catalog.demo import ensure_demo_account, ensure_sandbox_providers, queue_first_syncs
from dashboard.models import Membership, Role, Team

DEMO_TEAM_SLUG = "demo"
DEMO_TEAM_NAME = "Demo team"
DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.org"


class Command(BaseCommand):
    help = "Create the demo team and its owner account (prints the password once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the dashboard is served (default: %(default)s).",
        )

    def handle(self, *args, base_url: str, **options):
        base_url = base_url.rstrip("/")
        with transaction.atomic():
            team, _ = Team.objects.get_or_create(
                slug=DEMO_TEAM_SLUG, defaults={"name": DEMO_TEAM_NAME}
            )
            password = None
            user = User.objects.filter(username=DEMO_USERNAME).first()
            if user is None:
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(DEMO_USERNAME, DEMO_EMAIL, password)
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.OWNER})

            # Other apps' demo data (the sandbox providers, the demo team's keys at them)
            # follows here, one call each, taking `base_url` and `team`.
            sandboxes = ensure_sandbox_providers(base_url) if settings.SANDBOX else []
            for sandbox in sandboxes:
                ensure_demo_account(team, sandbox)

        queued = queue_first_syncs(sandboxes)
        self.stdout.write(f"Demo team {team.name!r} is ready.")
        self.stdout.write(f"Sign in at {base_url}/accounts/login/")
        for sandbox in sandboxes:
            self.stdout.write(f"Sandbox provider {sandbox.name!r}: {sandbox.handler_url}")
        if queued:
            names = ", ".join(provider.name for provider in queued)
            self.stdout.write(f"First catalog sync queued for {names}: the worker runs it.")
        if password:
            self.stdout.write(f"  username: {DEMO_USERNAME}")
            self.stdout.write(f"  password: {password}")
            self.stdout.write("(The password is shown only this once.)")
        else:
            self.stdout.write(
                f"  username: {DEMO_USERNAME} (password shown when it was created; "
                f"`manage.py changepassword {DEMO_USERNAME}` sets a new one)"
            )
        # The team gateway: the team's own programs speak the provider protocol to it.
        self.stdout.write(
            f"Team gateway (handler_api) for your programs: {base_url}{reverse('gateway_stubs')}"
        )
        self.stdout.write(
            "  create a token on the API access page: "
            f"{base_url}{reverse('activations:api_access', args=[team.slug])}"
        )
