"""The gateway's answers, checked against the provider document's own literals (copied from
/work/shared/provider-api-doc.txt, not from the client), so that a misreading cannot hide in
both the protocol client and the gateway."""

import json
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.db import OperationalError

from activations.models import Activation, PriceLimit, Reservation
from catalog.models import Country, Operator, Provider, Service
from dashboard.models import AuditEvent, Membership, Team
from tests.activations.gateway.helpers import ask, said
from tests.activations.poller_support import poller
from tests.fixtures.activations import UNREACHABLE_URL, make_account, make_offer
from tests.provider.client_support import (  # the document's examples, byte for byte
    DOC_BALANCE,
    DOC_COUNTRIES,
    DOC_NUMBER,
    DOC_SERVICES,
)

pytestmark = pytest.mark.django_db

State = Activation.State

DOC_STATUS_OK = "STATUS_OK:CODE"


def shape(answer: str) -> str:
    """The answer with every run of digits as 9: compares ACCESS_NUMBER:ID:NUMBER's shape."""
    return re.sub(r"[0-9]+", "9", answer)


def test_get_balance_is_the_documents_plain_number(client, make_token, alice, alice_account):
    alice_account.balance = Decimal(DOC_BALANCE)
    alice_account.save()
    assert said(client, make_token(alice), action="getBalance", lang="en") == DOC_BALANCE
    # The switch for clients of the family's other variant.
    prefixed = make_token(alice, balance_prefix=True)
    assert said(client, prefixed, action="getBalance") == "ACCESS_BALANCE:" + DOC_BALANCE


def test_get_balance_sums_the_teams_keyed_balances_when_nothing_limits(
    client, make_token, alice, alice_team, alice_account
):
    second = Provider.objects.create(name="Second", handler_url=UNREACHABLE_URL)
    make_account(alice_team, second, api_key="second-key-0f9e8d7c", balance="0.50")
    third = Provider.objects.create(name="Third", handler_url=UNREACHABLE_URL)
    make_account(alice_team, third, api_key="third-key-1a2b3c4d5e", balance=None)
    assert said(client, make_token(alice), action="getBalance") == "100.50"


def test_get_balance_is_the_smaller_of_the_members_limit_and_the_teams_budget_left(
    client, make_token, alice, bob, alice_team, make_activation
):
    Team.objects.filter(pk=alice_team.pk).update(monthly_budget=Decimal("100"))
    Membership.objects.filter(user=bob).update(monthly_limit=Decimal("30"))
    secret = make_token(bob)
    make_activation(user=bob, price=Decimal("10"))
    assert said(client, secret, action="getBalance") == "20.00"  # bob's 30 less his 10
    make_activation(user=alice, price=Decimal("75"))
    assert said(client, secret, action="getBalance") == "15.00"  # the team's 100 less 85
    # A purchase in flight counts.
    Reservation.objects.create(team=alice_team, user=alice, amount=5, request_token="inflight1")
    assert said(client, secret, action="getBalance") == "10.00"
    # Cancelled numbers cost nothing.
    Activation.objects.filter(user=alice).update(state=State.CANCELLED)
    assert said(client, secret, action="getBalance") == "20.00"
    # Never below zero.
    make_activation(user=alice, price=Decimal("200"))
    assert said(client, secret, action="getBalance") == "0.00"


def test_catalog_answers_are_the_documents_json(
    client, make_token, alice, alice_team, act_provider, alice_account
):
    russia = Country.objects.create(provider=act_provider, external_id=0, name="Россия")
    ukraine = Country.objects.create(provider=act_provider, external_id=1, name="Украина")
    for code in ("yota", "ttk", "any", "tinkoff", "tele2"):
        Operator.objects.create(country=russia, code=code)
    for code in ("vodafone", "utel", "mts", "lycamobile", "life", "kyivstar", "any"):
        Operator.objects.create(country=ukraine, code=code)
    # The services in the provider's order (as the catalog sync stores them).
    for code, name in (("vk", "Вконтакте"), ("ok", "Ok.ru"), ("wa", "Whatsapp")):
        Service.objects.create(provider=act_provider, code=code, name=name)
    make_offer(act_provider, service="vk", price="29.88", quantity=19)
    make_offer(act_provider, service="ok", price="1.34", quantity=2776)
    make_offer(act_provider, service="wa", price="3.00", quantity=0)
    secret = make_token(alice)

    assert said(client, secret, action="getCountryAndOperators", lang="ru") == DOC_COUNTRIES
    services = said(client, secret, action="getServicesAndCost", country="0", operator="any")
    assert services == DOC_SERVICES
    # Country 0 and operator "any" when a program leaves them out.
    assert said(client, secret, action="getServicesAndCost") == DOC_SERVICES
    assert said(client, secret, action="getServicesAndCost", country="1") == "[]"


def test_get_number_and_status_have_the_documents_shapes(
    client, alice_token, sandbox_server, sandbox_offer
):
    number = said(client, alice_token, action="getNumber", service="tg", country="0")
    assert shape(number) == shape(DOC_NUMBER)
    activation_id = number.split(":")[1]
    activation = Activation.objects.get(pk=activation_id)
    assert number == f"ACCESS_NUMBER:{activation.pk}:{activation.phone}"

    assert said(client, alice_token, action="getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "4321")
    poller().run_once(all_open=True)
    answer = said(client, alice_token, action="getStatus", id=activation_id)
    assert answer == DOC_STATUS_OK.replace("CODE", "4321")

    assert said(client, alice_token, action="setStatus", id=activation_id, status="3") == (
        "ACCESS_RETRY_GET"
    )
    assert said(client, alice_token, action="setStatus", id=activation_id, status="6") == (
        "ACCESS_ACTIVATION"
    )
    second = said(client, alice_token, action="getNumber", service="tg").split(":")[1]
    assert said(client, alice_token, action="setStatus", id=second, status="8") == "ACCESS_CANCEL"
    assert said(client, alice_token, action="getStatus", id=second) == "STATUS_CANCEL"


@pytest.mark.parametrize(
    ("state", "codes", "answer"),
    [
        (State.WAITING, [], "STATUS_WAIT_CODE"),
        (State.CODE_RECEIVED, ["111"], "STATUS_OK:111"),
        (State.WAITING_RETRY, ["111"], "STATUS_WAIT_RETRY:111"),
        (State.WAITING_RETRY, [], "STATUS_WAIT_RETRY"),
        (State.COMPLETED, ["111", "222"], "STATUS_OK:222"),
        (State.COMPLETED, [], "STATUS_CANCEL"),
        (State.CANCELLED, [], "STATUS_CANCEL"),
        (State.EXPIRED, [], "STATUS_CANCEL"),
    ],
)
def test_get_status_answers_what_the_poller_last_saw(
    client, make_token, alice, make_activation, state, codes, answer
):
    activation = make_activation(state=state, codes=codes)
    assert said(client, make_token(alice), action="getStatus", id=str(activation.pk)) == answer


def test_get_status_asks_the_provider_nothing_costs_two_queries_and_writes_nothing(
    client, alice_token, sandbox_server, sandbox_offer, django_assert_max_num_queries, settings
):
    settings.GATEWAY_REQUESTS_PER_SECOND = 10_000  # the rate has its own tests
    sandbox = sandbox_server.sandbox
    activation_id = said(client, alice_token, action="getNumber", service="tg").split(":")[1]
    said(client, alice_token, action="getStatus", id=activation_id)  # stamps "last used"
    asked = sum(sandbox.request_counts.values())
    events = AuditEvent.objects.count()
    revision = Activation.objects.values_list("updated_at", flat=True).get()

    for _ in range(3):
        with django_assert_max_num_queries(2):
            answer = said(client, alice_token, action="getStatus", id=activation_id)
        assert answer == "STATUS_WAIT_CODE"
    for _ in range(30):
        said(client, alice_token, action="getStatus", id=activation_id)

    assert sum(sandbox.request_counts.values()) == asked
    assert sandbox.request_counts["getStatus"] == 0
    assert AuditEvent.objects.count() == events
    assert Activation.objects.values_list("updated_at", flat=True).get() == revision


def test_another_teams_activation_is_no_activation(
    client, make_token, alice, charlie, act_provider, make_activation
):
    charlies_team = Team.objects.get(slug="charlies-team")
    account = make_account(charlies_team, act_provider, api_key="charlie-key-5e6f7a8b")
    theirs = make_activation(team=charlies_team, user=charlie, account=account)
    secret = make_token(alice)
    assert said(client, secret, action="getStatus", id=str(theirs.pk)) == "NO_ACTIVATION"
    assert said(client, secret, action="setStatus", id=str(theirs.pk), status="8") == (
        "NO_ACTIVATION"
    )
    theirs.refresh_from_db()
    assert theirs.state == State.WAITING
    for bad_id in ("", "abc", "-1", "1.5", "9" * 30, "٣"):
        assert said(client, secret, action="getStatus", id=bad_id) == "NO_ACTIVATION"


def test_the_error_words(client, make_token, alice, make_activation, sandbox_server):
    secret = make_token(alice)
    activation = make_activation(state=State.CODE_RECEIVED, codes=["1"])
    assert said(client, None, action="getBalance") == "BAD_KEY"
    assert said(client, "not-a-token", action="getBalance") == "BAD_KEY"
    assert said(client, secret, action="getBalance", lang="de") == "BAD_LANG"
    assert said(client, secret, action="getBalance", lang="ru") != "BAD_LANG"
    assert said(client, secret, action="getSomething") == "BAD_ACTION"
    assert said(client, secret) == "BAD_ACTION"
    assert said(client, secret, action="getNumber") == "BAD_ACTION"  # no service at all
    assert said(client, secret, action="getNumber", service="nosuch") == "BAD_SERVICE"
    assert said(client, secret, action="setStatus", id=str(activation.pk), status="1") == (
        "BAD_STATUS"
    )
    # Cancel after a code: refused by SMS Desk's own move rule, as the family words it.
    assert said(client, secret, action="setStatus", id=str(activation.pk), status="8") == (
        "BAD_STATUS"
    )
    with mock.patch(
        "activations.gateway.answers.keyed_accounts", side_effect=OperationalError("gone")
    ):
        assert said(client, secret, action="getBalance") == "ERROR_SQL"


def test_early_cancel_denied_is_passed_on(client, alice_token, sandbox_server, sandbox_offer):
    sandbox_server.sandbox.min_cancel_age = 3600
    activation_id = said(client, alice_token, action="getNumber", service="tg").split(":")[1]
    assert said(client, alice_token, action="setStatus", id=activation_id, status="8") == (
        "EARLY_CANCEL_DENIED"
    )
    assert Activation.objects.get(pk=activation_id).state == State.WAITING


def test_every_address_answers_get_and_post_without_a_redirect(
    client, make_token, alice, alice_account
):
    secret = make_token(alice)
    for path in ("/api/handler_api", "/stubs/handler_api", "/stubs/handler_api.php"):
        for method in ("get", "post"):
            response = ask(client, secret, method=method, path=path, action="getBalance")
            assert response.status_code == 200
            assert response.content == b"100.00"
    # The form body comes first, the URL second.
    response = client.post(
        "/stubs/handler_api?action=getStatus&api_key=wrong", {"api_key": secret, "action": "x"}
    )
    assert response.content == b"BAD_ACTION"
    response = client.post("/stubs/handler_api?action=getBalance", {"api_key": secret})
    assert response.content == b"100.00"


def test_services_and_offers_across_providers(
    client, make_token, alice, alice_team, act_provider, alice_account
):
    """The cheapest in stock within the token's highest price, the stock across the team's
    keyed, enabled providers; other providers' offers are not for sale."""
    second = Provider.objects.create(name="Second", handler_url=UNREACHABLE_URL)
    make_account(alice_team, second, api_key="second-key-0f9e8d7c")
    unkeyed = Provider.objects.create(name="Unkeyed", handler_url=UNREACHABLE_URL)
    off = Provider.objects.create(name="Off", handler_url=UNREACHABLE_URL, enabled=False)
    make_account(alice_team, off, api_key="off-key-9a8b7c6d5e")
    make_offer(act_provider, price="12.00", quantity=5)
    make_offer(second, price="9.50", quantity=0)  # cheapest, none in stock
    make_offer(second, service="wa", price="4.00", quantity=7)
    make_offer(unkeyed, price="1.00", quantity=100)
    make_offer(off, price="2.00", quantity=100)
    make_offer(off, country=5, price="2.00", quantity=100)

    rows = json.loads(said(client, make_token(alice), action="getServicesAndCost"))
    assert {row["id"]: (row["price"], row["quantity"]) for row in rows} == {
        "tg": (12, "5"),
        "wa": (4, "7"),
    }
    countries = json.loads(said(client, make_token(alice), action="getCountryAndOperators"))
    assert countries == [{"id": 0, "name": "Country 0", "operators": {"any": "any"}}]

    capped = make_token(alice, max_price=Decimal("11"))
    rows = json.loads(said(client, capped, action="getServicesAndCost"))
    assert {row["id"]: (row["price"], row["quantity"]) for row in rows} == {
        "tg": (0, "0"),
        "wa": (4, "7"),
    }
    only_tg = make_token(alice, services=["tg"])
    rows = json.loads(said(client, only_tg, action="getServicesAndCost"))
    assert [row["id"] for row in rows] == ["tg"]


def test_services_keep_within_the_teams_price_limit(
    client, make_token, alice, alice_team, act_provider, alice_account
):
    make_offer(act_provider, price="12.00", quantity=5)
    make_offer(act_provider, service="wa", price="4.00", quantity=7)
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("11"))
    secret = make_token(alice)
    rows = json.loads(said(client, secret, action="getServicesAndCost"))
    assert {row["id"]: (row["price"], row["quantity"]) for row in rows} == {
        "tg": (0, "0"),
        "wa": (4, "7"),
    }
    assert said(client, secret, action="getNumber", service="tg") == "NO_NUMBERS"


def test_catalog_names_follow_the_programs_lang(
    client, make_token, alice, alice_team, act_provider, alice_account
):
    russia = Country.objects.create(
        provider=act_provider, external_id=0, name="Russia", name_en="Russia", name_ru="Россия"
    )
    Operator.objects.create(country=russia, code="any")
    Service.objects.create(
        provider=act_provider, code="vk", name="VKontakte", name_en="VKontakte", name_ru="Вконтакте"
    )
    make_offer(act_provider, service="vk", price="29.88", quantity=19)
    secret = make_token(alice)

    def first_names(**params) -> tuple[str, str]:
        countries = json.loads(said(client, secret, action="getCountryAndOperators", **params))
        services = json.loads(said(client, secret, action="getServicesAndCost", **params))
        return countries[0]["name"], services[0]["name"]

    assert first_names(lang="ru") == ("Россия", "Вконтакте")
    assert first_names(lang="en") == ("Russia", "VKontakte")
    assert first_names() == ("Russia", "VKontakte")  # no lang: the provider's own names
