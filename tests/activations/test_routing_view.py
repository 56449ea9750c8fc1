"""The routing settings page: the policy and the highest price per service (owners and
managers), with their forms' bad input."""

from decimal import Decimal

import pytest

from activations.models import PriceLimit, RoutingPolicy, TeamRouting
from catalog.models import Provider
from dashboard.models import AuditEvent
from tests.fixtures.activations import make_offer


def url(team, part=""):
    return f"/t/{team.slug}/routing/{part}"


@pytest.fixture
def wa_offer(act_provider, tg_offer):
    """A second service the team's provider lists, beside Telegram."""
    return make_offer(act_provider, service="wa", country=0, price="3.00")


def test_it_shows_the_policy_and_the_limits(client, alice, alice_team, alice_account, tg_offer):
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("12.30"))
    client.force_login(alice)
    response = client.get(url(alice_team))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="cheapest" id="id_policy_0" required checked' in page
    assert 'value="12.30"' in page
    assert '<option value="tg">TG (tg)</option>' in page


def test_it_changes_the_policy(client, alice, alice_team):
    client.force_login(alice)
    response = client.post(url(alice_team), {"policy": "reliable"}, follow=True)
    assert TeamRouting.objects.get(team=alice_team).policy == RoutingPolicy.RELIABLE
    assert b"Purchases now go to the most reliable offer first." in response.content
    assert b'value="reliable" id="id_policy_1" required checked' in response.content


def test_an_unknown_policy_is_a_form_error(client, alice, alice_team):
    client.force_login(alice)
    response = client.post(url(alice_team), {"policy": "random"})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not TeamRouting.objects.exists()


def test_it_adds_and_changes_a_price_limit(client, alice, alice_team, alice_account, wa_offer):
    client.force_login(alice)
    response = client.post(
        url(alice_team, "limits/"), {"service_code": "wa", "max_price": "4.20"}, follow=True
    )
    assert b"The highest price for wa is now $4.20." in response.content
    client.post(url(alice_team, "limits/"), {"service_code": "wa", "max_price": "3.10"})
    assert PriceLimit.objects.get(team=alice_team).max_price == Decimal("3.10")
    assert AuditEvent.objects.filter(action="routing_changed").count() == 2


def test_it_removes_a_price_limit(client, alice, alice_team):
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("1"))
    client.force_login(alice)
    body = {"service_code": "tg", "confirmed": "1"}
    response = client.post(url(alice_team, "limits/remove/"), body, follow=True)
    assert b"tg has no highest price of its own any more." in response.content
    assert not PriceLimit.objects.exists()
    response = client.post(url(alice_team, "limits/remove/"), body, follow=True)
    assert b"There was no highest price to remove." in response.content


@pytest.mark.parametrize(
    ("wrong", "body"),
    [
        ("a negative price", {"service_code": "tg", "max_price": "-1"}),
        ("letters for a price", {"service_code": "tg", "max_price": "abc"}),
        ("no price", {"service_code": "tg", "max_price": ""}),
        ("an unknown service code", {"service_code": "zz", "max_price": "1"}),
        ("another team's service", {"service_code": "wa", "max_price": "1"}),
    ],
)
def test_bad_input_for_a_price_limit_is_a_form_error(
    client, alice, alice_team, alice_account, tg_offer, wrong, body
):
    # "wa" is sold only at a provider where Alice's team holds no key.
    theirs = Provider.objects.create(name="Theirs", handler_url="http://127.0.0.1:9/")
    make_offer(theirs, service="wa")
    client.force_login(alice)
    response = client.post(url(alice_team, "limits/"), body)
    assert response.status_code == 200, wrong
    assert b"errorlist" in response.content, wrong
    assert not PriceLimit.objects.exists(), wrong
    assert not AuditEvent.objects.exists(), wrong


@pytest.mark.parametrize("person", ["bob", "victor"])
def test_members_and_viewers_get_403(client, request, alice_team, alice_account, tg_offer, person):
    client.force_login(request.getfixturevalue(person))
    assert client.get(url(alice_team)).status_code == 403
    assert client.post(url(alice_team), {"policy": "reliable"}).status_code == 403
    body = {"service_code": "tg", "max_price": "1"}
    assert client.post(url(alice_team, "limits/"), body).status_code == 403
    assert client.post(url(alice_team, "limits/remove/"), body).status_code == 403
    assert not TeamRouting.objects.exists() and not PriceLimit.objects.exists()


def test_it_checks_membership(client, charlie, alice_team):
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404
    assert client.post(url(alice_team), {"policy": "reliable"}).status_code == 404
