"""Known activations for the report tests, made directly through the ORM.

``march`` holds seven activations of Alice's team bought in March 2026 (UTC), two more just
outside March, and one of Charlie's team; the figures every report must show for them are
worked out by hand in the tests.
"""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from activations.models import Activation
from catalog.models import Country, Operator, Provider, ProviderAccount, Service
from dashboard.models import Membership, Role, Team
from reports.engine import Scope

State = Activation.State
_ids = itertools.count(1)


def march_scope(team: Team, **filters) -> Scope:
    """March 2026 in the team's time zone, maybe filtered (user_id=..., service_id=...)."""
    return Scope(team=team, start=date(2026, 3, 1), end=date(2026, 3, 31), **filters)


def at(text: str) -> datetime:
    """An instant in UTC from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.fixture
def provider(db) -> Provider:
    return Provider.objects.create(
        name="Reports test", handler_url="http://127.0.0.1:9/stubs/handler_api"
    )


@pytest.fixture
def places(provider) -> dict:
    russia = Country.objects.create(provider=provider, external_id=0, name="Russia")
    kazakhstan = Country.objects.create(provider=provider, external_id=2, name="Kazakhstan")
    return {
        "ru": russia,
        "kz": kazakhstan,
        "mts": Operator.objects.create(country=russia, code="mts"),
        "beeline": Operator.objects.create(country=russia, code="beeline"),
        "tele2": Operator.objects.create(country=kazakhstan, code="tele2"),
        "tg": Service.objects.create(provider=provider, code="tg", name="Telegram"),
        "wa": Service.objects.create(provider=provider, code="wa", name="WhatsApp"),
    }


@pytest.fixture
def account(alice_team, provider, alice) -> ProviderAccount:
    return ProviderAccount.objects.create(
        team=alice_team, provider=provider, key_ciphertext="not-a-key", key_last4="abcd"
    )


@pytest.fixture
def make_activation(account, places):
    """Create one activation: make_activation("2026-03-02 10:00", user, "tg", "mts", "10.00",
    State.COMPLETED, wait=30) -- wait is seconds to the first code (None: no code)."""

    def make(
        created: str,
        user: User,
        service: str = "tg",
        operator: str = "mts",
        price: str = "10.00",
        state: str = State.COMPLETED,
        wait: float | None = None,
        account: ProviderAccount = account,
    ) -> Activation:
        created_at = at(created)
        op = places[operator]
        number = next(_ids)
        return Activation.objects.create(
            team=account.team,
            user=user,
            account=account,
            provider=account.provider,
            service=places[service],
            country=op.country,
            operator=op,
            phone=f"7900{number:07d}",
            provider_activation_id=str(number),
            price=Decimal(price),
            state=state,
            codes=[] if wait is None else ["12345"],
            created_at=created_at,
            updated_at=created_at,
            first_code_at=None if wait is None else created_at + timedelta(seconds=wait),
            closed_at=None
            if state in Activation.OPEN_STATES
            else created_at + timedelta(minutes=5),
            expires_at=created_at + timedelta(minutes=20),
        )

    return make


@pytest.fixture
def charlie_account(charlie, provider) -> ProviderAccount:
    team = Team.objects.get(slug="charlies-team")
    return ProviderAccount.objects.create(
        team=team, provider=provider, key_ciphertext="not-a-key", key_last4="wxyz"
    )


@pytest.fixture
def march(make_activation, alice, bob, charlie, charlie_account) -> list[Activation]:
    """Alice's team in March 2026 (UTC). Spent 40.60 on 5 of 7; 5 codes; 1 cancelled, 1 expired."""
    rows = [
        make_activation("2026-03-02 10:00", alice, "tg", "mts", "10.00", State.COMPLETED, wait=30),
        make_activation("2026-03-02 11:00", bob, "tg", "mts", "10.00", State.COMPLETED, wait=60),
        make_activation("2026-03-02 12:00", bob, "tg", "beeline", "12.50", State.CANCELLED),
        make_activation(
            "2026-03-03 09:00", alice, "wa", "beeline", "7.25", State.COMPLETED, wait=90
        ),
        make_activation("2026-03-03 23:30", alice, "wa", "tele2", "5.00", State.EXPIRED),
        make_activation("2026-03-10 08:00", bob, "tg", "tele2", "3.35", State.COMPLETED, wait=120),
        make_activation(
            "2026-03-10 09:00", alice, "tg", "mts", "10.00", State.CODE_RECEIVED, wait=45
        ),
    ]
    # Outside March (the range ends before April 1st, 00:00) and another team's.
    make_activation("2026-02-28 23:59", alice, "tg", "mts", "99.00", State.COMPLETED, wait=10)
    make_activation("2026-04-01 00:00", alice, "tg", "mts", "99.00", State.COMPLETED, wait=10)
    make_activation(
        "2026-03-05 10:00",
        charlie,
        "tg",
        "mts",
        "55.00",
        State.COMPLETED,
        wait=10,
        account=charlie_account,
    )
    return rows


@pytest.fixture
def manager(alice_team) -> User:
    user = User.objects.create_user("mia", "mia@example.org", "password")
    Membership.objects.create(team=alice_team, user=user, role=Role.MANAGER)
    return user


@pytest.fixture
def frozen_now(monkeypatch):
    """Pin timezone.now() (presets, budget month, weekly email) to a given instant."""

    def freeze(text: str) -> datetime:
        instant = at(text)
        monkeypatch.setattr("django.utils.timezone.now", lambda: instant)
        return instant

    return freeze


MARCH = "range=custom&start=2026-03-01&end=2026-03-31"
