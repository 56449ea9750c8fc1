"""The security sweep's world: Alice's team and Charlie's team, each with real objects.

Alice owns "alices-team" (Bob a member, Victor a viewer), with a provider account, an open
activation, a pending invitation, an audit event and Bob's personal API token. Charlie owns
"charlies-team" with the same kinds of objects, on a provider that only his team has an
account with, so that its service, country and operator are "another team's ids" in Alice's
forms.
"""

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.cache import cache

from activations.models import Activation
from catalog.models import Offer, Provider, ProviderAccount
from dashboard import tokens
from dashboard.audit import record_action
from dashboard.models import ApiToken, AuditEvent, Invitation, Membership, Role, Team
from tests.fixtures.activations import make_account, make_offer
from tests.security.routes import Route

CHARLIE_KEY = "charlie-key-for-the-sweep-7d1e"


@dataclass
class World:
    alice: User
    bob: User
    victor: User
    charlie: User
    alice_team: Team
    charlie_team: Team
    offer: Offer
    account: ProviderAccount
    activation: Activation
    invitation: Invitation
    bob_membership: Membership
    charlie_provider: Provider
    charlie_offer: Offer
    charlie_account: ProviderAccount
    charlie_activation: Activation
    charlie_invitation: Invitation
    charlie_membership: Membership
    dora_membership: Membership  # a member of Charlie's team
    alice_token: ApiToken  # Bob's personal API token (Alice's team)
    charlie_token: ApiToken

    def alice_values(self, team_slug: str = "alices-team") -> dict[str, str]:
        """Real ids of Alice's objects for every part of a route."""
        return {
            "team_slug": team_slug,
            "activation_id": self.activation.pk,
            "account_id": self.account.pk,
            "membership_id": self.bob_membership.pk,
            "invitation_id": self.invitation.pk,
            "token_id": self.alice_token.pk,
            "service_id": self.offer.service_id,
            "provider_id": self.offer.provider_id,
            "report": "spending",
            "table": "service",
            "token": self.invitation.token,
            "uidb64": "MQ",
            **ADMIN_DUMMIES,
        }

    def charlie_values(self) -> dict[str, str]:
        """The same parts with Charlie's team and Charlie's objects."""
        return self.alice_values("charlies-team") | {
            "activation_id": self.charlie_activation.pk,
            "account_id": self.charlie_account.pk,
            "membership_id": self.dora_membership.pk,
            "invitation_id": self.charlie_invitation.pk,
            "token_id": self.charlie_token.pk,
            "service_id": self.charlie_offer.service_id,
        }

    def snapshot(self) -> dict:
        """Everything a state-changing request could touch, to compare before and after."""
        from django_q.models import OrmQ

        return {
            "teams": list(Team.objects.order_by("pk").values()),
            "memberships": list(Membership.objects.order_by("pk").values()),
            "invitations": list(Invitation.objects.order_by("pk").values()),
            "accounts": list(ProviderAccount.objects.order_by("pk").values()),
            "activations": list(
                Activation.objects.order_by("pk").values("pk", "state", "codes", "team_id")
            ),
            "audit events": AuditEvent.objects.count(),
            "api tokens": list(ApiToken.objects.order_by("pk").values()),
            "users": list(User.objects.order_by("pk").values("pk", "username", "password")),
            "queued tasks": OrmQ.objects.count(),
        }


ADMIN_DUMMIES = {"object_id": "1", "content_type_id": "1", "id": "1", "app_label": "activations"}
ADMIN_DUMMIES["url"] = "no-such-page/"


@pytest.fixture(autouse=True)
def no_sign_in_failures_left(db):
    """The sign-in rate limit counts in the cache (a database table here): start clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(alice, bob, victor, charlie, alice_team, alice_account, tg_offer, make_activation):
    activation = make_activation()
    charlie_team = Team.objects.get(slug="charlies-team")
    dora = User.objects.create_user("dora", "dora@example.org", "password")
    dora_membership = Membership.objects.create(team=charlie_team, user=dora, role=Role.MEMBER)
    charlie_provider = Provider.objects.create(
        name="Charlie's provider", handler_url="http://127.0.0.1:9/stubs/handler_api"
    )
    charlie_offer = make_offer(charlie_provider, service="wa", country=7, operator="beeline")
    charlie_account = make_account(charlie_team, charlie_provider, api_key=CHARLIE_KEY)
    charlie_activation = Activation.objects.create(
        team=charlie_team,
        user=charlie,
        account=charlie_account,
        provider=charlie_provider,
        service=charlie_offer.service,
        country=charlie_offer.country,
        operator=charlie_offer.operator,
        phone="79990000001",
        provider_activation_id="c-1",
        price=charlie_offer.price,
        expires_at=activation.expires_at,
    )
    record_action(team=alice_team, user=alice, action="budget_changed", to="10")
    bob_membership = Membership.objects.select_related("team", "user").get(user=bob)
    charlie_membership = Membership.objects.select_related("team", "user").get(user=charlie)
    return World(
        alice=alice,
        bob=bob,
        victor=victor,
        charlie=charlie,
        alice_team=alice_team,
        charlie_team=charlie_team,
        offer=tg_offer,
        account=alice_account,
        activation=activation,
        invitation=Invitation.objects.create(
            team=alice_team, email="newcomer@example.org", invited_by=alice
        ),
        bob_membership=Membership.objects.get(user=bob),
        charlie_provider=charlie_provider,
        charlie_offer=charlie_offer,
        charlie_account=charlie_account,
        charlie_activation=charlie_activation,
        charlie_invitation=Invitation.objects.create(
            team=charlie_team, email="friend@example.org", invited_by=charlie
        ),
        charlie_membership=Membership.objects.get(user=charlie),
        dora_membership=dora_membership,
        alice_token=tokens.create_token(acting=bob_membership, name="Bob's bot").token,
        charlie_token=tokens.create_token(acting=charlie_membership, name="Charlie's bot").token,
    )


def admin_object_values(route: Route) -> dict[str, str]:
    """For an admin route of a model, the pk of a real row of that model (if any)."""
    if not route.name:
        return {}
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if route.name.startswith(prefix):
            row = model._default_manager.order_by("pk").first()
            if row is not None:
                return {"object_id": str(row.pk), "id": str(row.pk)}
    return {}
