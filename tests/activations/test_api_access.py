"""The API access page: creating a personal token (its secret shown once), the list, revoking,
and who may do what."""

import hashlib
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard import tokens
from dashboard.models import ApiToken, AuditEvent, Membership, Role
from tests.activations.acting import acting
from tests.fixtures.activations import make_offer

SECRET = re.compile(r"smsd_[A-Za-z0-9]{40}")


def url(team) -> str:
    return f"/t/{team.slug}/api-access/"


def revoke_url(team, token) -> str:
    return f"/t/{team.slug}/api-access/{token.pk}/revoke/"


def page_form(client, team) -> dict:
    """A fresh form's hidden nonce, as the page gives it."""
    response = client.get(url(team))
    return {"nonce": response.context["nonce"]}


def create(client, team, **fields):
    data = {"name": "bot", **page_form(client, team), **fields}
    return client.post(url(team), data, REMOTE_ADDR="10.1.2.3")


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client, bob, alice_team):
    client.force_login(bob)
    response = create(client, alice_team, name="registration bot")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    shown = set(SECRET.findall(html))
    assert len(shown) == 1
    secret = shown.pop()
    assert "Shown only now: copy it" in html
    token = ApiToken.objects.get()
    assert token.name == "registration bot"
    assert token.user == bob
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix)
    assert secret not in str(list(ApiToken.objects.values()))
    event = AuditEvent.objects.get(action="token_created")
    assert event.user == bob and event.ip == "10.1.2.3"

    again = client.get(url(alice_team))
    assert secret not in again.content.decode()
    assert token.prefix in again.content.decode()  # listed by its prefix
    assert not SECRET.search(again.content.decode())


def test_resubmitting_the_form_creates_nothing_and_shows_no_secret(client, bob, alice_team):
    client.force_login(bob)
    data = {"name": "bot", **page_form(client, alice_team)}
    first = client.post(url(alice_team), data)
    assert SECRET.search(first.content.decode())
    reload = client.post(url(alice_team), data, follow=True)  # the browser's "resend"
    assert ApiToken.objects.count() == 1
    assert not SECRET.search(reload.content.decode())
    assert "shown only once" in reload.content.decode()


def test_limits_are_saved(client, alice, alice_team, alice_account, tg_offer):
    make_offer(tg_offer.provider, service="wa")
    client.force_login(alice)
    response = create(
        client,
        alice_team,
        max_price="12.50",
        daily_limit="30",
        services=["tg", "wa"],
        balance_prefix="on",
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.max_price == Decimal("12.50")
    assert token.daily_limit == 30
    assert token.services == ["tg", "wa"]
    assert token.balance_prefix is True
    listed = client.get(url(alice_team)).content.decode()
    assert "at most $12.50 a number" in listed and "30 a day" in listed and "tg, wa" in listed


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"max_price": "-1"}, "max_price"),
        ({"max_price": "cheap"}, "max_price"),
        ({"daily_limit": "0"}, "daily_limit"),
        ({"daily_limit": "1.5"}, "daily_limit"),
        ({"services": ["not-a-service"]}, "services"),
        ({"services": ["wa"]}, "services"),  # another provider's, where the team has no key
    ],
)
def test_invalid_input_is_a_form_error_and_creates_nothing(
    client, alice, alice_team, alice_account, tg_offer, provider, fields, field
):
    make_offer(provider, service="wa")  # a provider the team holds no key for
    client.force_login(alice)
    response = create(client, alice_team, **fields)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ApiToken.objects.exists()
    assert not SECRET.search(response.content.decode())


def test_the_services_offered_are_the_teams(client, alice, alice_team, alice_account, tg_offer):
    client.force_login(alice)
    choices = client.get(url(alice_team)).context["form"].fields["services"].choices
    assert choices == [("tg", "TG (tg)")]


def test_the_page_shows_the_gateway_url_and_examples_without_a_secret(client, bob, alice_team):
    client.force_login(bob)
    html = client.get(url(alice_team)).content.decode()
    assert "http://testserver/stubs/handler_api" in html
    assert (
        "curl -s -d api_key=YOUR_TOKEN -d action=getBalance http://testserver/stubs/handler_api"
        in html
    )
    assert "from provider.client import ProviderClient" in html
    assert (
        'ProviderClient("http://testserver/stubs/handler_api", "YOUR_TOKEN", method="POST")'
        in html.replace("&quot;", '"')
    )


def test_the_examples_comment_in_the_readers_language_and_stay_the_same_code(
    client, bob, alice_team
):
    client.force_login(bob)
    english = client.get(url(alice_team), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    russian = client.get(url(alice_team), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "# What your token can spend now, as getBalance answers it\ncurl -s" in english
    assert "# Сколько ваш токен может потратить сейчас, как отвечает getBalance\ncurl -s" in russian
    command = (
        "curl -s -d api_key=YOUR_TOKEN -d action=getBalance http://testserver/stubs/handler_api"
    )
    assert command in english and command in russian


def test_the_python_example_runs_with_the_clients_real_options():
    from activations.gateway.views import examples
    from provider.client import ProviderClient

    code = examples("http://127.0.0.1:9/stubs/handler_api")["python"]
    constructor = code.split("with ", 1)[1].split(" as client", 1)[0]
    client = eval(constructor, {"ProviderClient": ProviderClient})  # noqa: S307 (our own text)
    assert client.method == "POST"
    client.close()


def test_a_member_sees_only_their_own_tokens(client, alice, bob, alice_team):
    tokens.create_token(acting=acting(alice_team, alice), name="alices bot")
    tokens.create_token(acting=acting(alice_team, bob), name="bobs bot")
    client.force_login(bob)
    html = client.get(url(alice_team)).content.decode()
    assert "bobs bot" in html and "alices bot" not in html
    assert "<th>Owner</th>" not in html


def test_a_manager_sees_and_revokes_every_token(client, alice, bob, alice_team):
    bobs = tokens.create_token(acting=acting(alice_team, bob), name="bobs bot").token
    client.force_login(alice)
    html = client.get(url(alice_team)).content.decode()
    assert "bobs bot" in html and "<th>Owner</th>" in html
    confirm = client.get(revoke_url(alice_team, bobs))
    assert confirm.status_code == 200 and b"Revoke the token bobs bot" in confirm.content
    response = client.post(revoke_url(alice_team, bobs), {"confirmed": "1"}, follow=True)
    assert response.status_code == 200
    bobs.refresh_from_db()
    assert bobs.revoked_at is not None and bobs.revoked_by == alice
    assert AuditEvent.objects.filter(action="token_revoked", user=alice).count() == 1
    assert b"revoked" in response.content


def test_a_member_cannot_revoke_anothers_token(client, alice, bob, alice_team):
    alices = tokens.create_token(acting=acting(alice_team, alice), name="alices bot").token
    client.force_login(bob)
    assert client.get(revoke_url(alice_team, alices)).status_code == 403
    assert client.post(revoke_url(alice_team, alices)).status_code == 403
    alices.refresh_from_db()
    assert alices.revoked_at is None


def test_a_member_revokes_their_own(client, bob, alice_team):
    own = tokens.create_token(acting=acting(alice_team, bob), name="bobs bot").token
    client.force_login(bob)
    assert client.post(revoke_url(alice_team, own), {"confirmed": "1"}).status_code == 302
    own.refresh_from_db()
    assert own.revoked_at is not None
    # Revoking again changes nothing and says so.
    again = client.post(revoke_url(alice_team, own), {"confirmed": "1"}, follow=True)
    assert b"already revoked" in again.content
    assert AuditEvent.objects.filter(action="token_revoked").count() == 1


def test_a_viewer_gets_403(client, victor, alice_team):
    client.force_login(victor)
    assert client.get(url(alice_team)).status_code == 403
    assert client.post(url(alice_team), {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_the_nav_links_to_the_page_for_buyers_only(client, bob, victor, alice_team):
    client.force_login(bob)
    assert url(alice_team).encode() in client.get(f"/t/{alice_team.slug}/").content
    client.force_login(victor)
    assert url(alice_team).encode() not in client.get(f"/t/{alice_team.slug}/").content


def test_each_tokens_state_is_shown(client, alice, bob, alice_team):
    live = tokens.create_token(acting=acting(alice_team, alice), name="live one").token
    gone = tokens.create_token(acting=acting(alice_team, alice), name="gone one").token
    tokens.revoke_token(acting=acting(alice_team, alice), token=gone)
    left = tokens.create_token(acting=acting(alice_team, bob), name="left one").token
    demoted = tokens.create_token(acting=acting(alice_team, bob), name="demoted one").token
    Membership.objects.filter(user=bob).update(role=Role.VIEWER)
    ApiToken.objects.filter(pk=left.pk).update(membership=None)
    ApiToken.objects.filter(pk=live.pk).update(last_used_at=timezone.now(), last_used_ip="10.7.7.7")
    client.force_login(alice)
    response = client.get(url(alice_team))
    states = {row.token.name: row.state for row in response.context["rows"]}
    assert states == {
        "live one": "active",
        "gone one": "revoked",
        "left one": "member left",
        "demoted one": "role cannot buy",
    }
    html = response.content.decode()
    assert "from 10.7.7.7" in html
    assert f'id="token-{demoted.pk}"' in html


def test_the_page_takes_a_fixed_number_of_queries(
    client, alice, bob, alice_team, django_assert_max_num_queries
):
    client.force_login(alice)
    client.get(url(alice_team))
    for n in range(5):
        tokens.create_token(acting=acting(alice_team, bob if n % 2 else alice), name=f"t{n}")
    with django_assert_max_num_queries(12):
        assert client.get(url(alice_team)).status_code == 200


def test_another_teams_token_is_404(client, alice, charlie, alice_team):
    from dashboard.models import Team

    theirs = tokens.create_token(
        acting=acting(Team.objects.get(slug="charlies-team"), charlie), name="charlies"
    ).token
    client.force_login(alice)
    assert client.post(revoke_url(alice_team, theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
