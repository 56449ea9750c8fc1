"""The audit log in words: a sentence per action with links, the provider calls an action made
nested under it, the poller's and the sync's calls grouped, no query per row, and balance
refreshes that change nothing adding no row."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone

from activations.audit_groups import heads, nest_calls
from activations.audit_story import phone_text
from activations.budgets import set_budgets
from activations.buying import buy_number
from activations.models import Activation
from activations.routing_settings import set_policy, set_price_limit
from catalog.accounts import attach_key
from catalog.models import ProviderAccount
from dashboard.audit import Action, one_request, record_action, record_call
from dashboard.encryption import encrypt_key
from dashboard.models import AuditEvent, Membership
from dashboard.services import change_role, invite_member
from dashboard.tokens import create_token, revoke_token
from tests.activations.acting import acting
from tests.activations.poller_support import one_pass
from tests.fixtures.activations import buy_form


def audit(client, team, query=""):
    response = client.get(f"/t/{team.slug}/audit/{query}")
    assert response.status_code == 200
    return response


def rows(response) -> list[AuditEvent]:
    return list(response.context["page"])


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)))


def test_a_purchase_reads_as_a_sentence_linking_the_activation_with_its_call_under_it(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    client.post(f"/t/{alice_team.slug}/buy/", buy_form(sandbox_offer, token="audit-token-01"))
    activation = Activation.objects.get()
    response = audit(client, alice_team)
    [bought] = rows(response)  # the getNumber call is not a row of its own
    assert bought.action == Action.BOUGHT
    link = f'<a href="/t/{alice_team.slug}/activations/{activation.pk}/">'
    assert str(bought.story) == (
        f"alice bought {link}{phone_text(activation.phone)}</a> (TG, Country 0) at "
        f"Sandbox (test) for ${sandbox_offer.price:,.2f}"
    )
    assert [call.action for call in bought.calls] == ["getNumber"]
    page = response.content.decode()
    assert "1 provider call" in page and "<details" in page
    assert "activations.activation" not in page


def test_a_cancel_has_its_set_status_under_it(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    activation = buy_number(
        acting=acting(alice_team, alice), offer=sandbox_offer, request_token="audit-token-02"
    ).activation
    client.force_login(alice)
    client.post(f"/t/{alice_team.slug}/activations/{activation.pk}/cancel/", {"confirmed": "1"})
    cancelled = rows(audit(client, alice_team))[0]
    assert text(cancelled.story) == f"alice cancelled {phone_text(activation.phone)}"
    assert f"/activations/{activation.pk}/" in cancelled.story
    assert [(c.action, c.params.get("status")) for c in cancelled.calls] == [("setStatus", "8")]


def test_a_refused_purchase_names_the_offer_and_why(client, alice, alice_team, tg_offer):
    record_action(
        team=alice_team,
        user=alice,
        action=Action.BOUGHT,
        obj=tg_offer,
        outcome="over_budget",
        price=Decimal("10.00"),
    )
    client.force_login(alice)
    [row] = rows(audit(client, alice_team))
    assert text(row.story) == (
        "alice tried to buy a TG number in Country 0 at Test provider for $10.00: over the budget"
    )


def test_each_kind_of_action_reads_as_a_sentence_with_its_link(
    client, alice, bob, alice_team, sandbox_provider, sandbox_server
):
    me = acting(alice_team, alice)
    slug = alice_team.slug
    with one_request():
        attach_key(acting=me, provider=sandbox_provider, api_key=sandbox_server.api_key)
    with one_request():
        attach_key(acting=me, provider=sandbox_provider, api_key=sandbox_server.api_key)
    bobs = Membership.objects.get(team=alice_team, user=bob)
    set_budgets(acting=me, monthly_budget=Decimal("500"), member_limits={bobs.pk: Decimal("50")})
    set_policy(acting=me, policy="reliable")
    set_price_limit(acting=me, service_code="tg", max_price=Decimal("12.30"))
    token = create_token(acting=me, name="ci-bot").token
    revoke_token(acting=me, token=token)
    invite_member(acting=me, email="dora@example.com", role="manager")
    change_role(acting=me, target=bobs, role="manager")

    client.force_login(alice)
    stories = [text(row.story) for row in rows(audit(client, alice_team))]
    assert stories == [
        "alice changed the role of bob: member → manager",
        "alice invited dora@example.com as manager",
        "alice revoked API token “ci-bot”",
        "alice created API token “ci-bot”",
        "alice changed the highest price for tg: no limit → $12.30",
        "alice changed the routing policy: Cheapest → Most reliable",
        "alice changed bob's monthly limit: no limit → $50.00",
        "alice changed the team's monthly budget: no limit → $500.00",
        "alice replaced the key of Sandbox (test) (key ••••" + sandbox_server.api_key[-4:] + ")",
        "alice added a key for Sandbox (test) (key ••••" + sandbox_server.api_key[-4:] + ")",
    ]
    page = audit(client, alice_team).content.decode()
    for target in ["provider-accounts", "budgets", "routing", "api-access", "settings"]:
        assert f'href="/t/{slug}/{target}/"' in page
    added = rows(audit(client, alice_team, "?action=key_added"))[0]
    assert [call.action for call in added.calls] == ["getBalance"]  # the key's check


def test_the_poller_s_code_is_one_row_with_its_call(client, alice, alice_team, buy, sandbox_server):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "012345")
    one_pass()
    client.force_login(alice)
    response = audit(client, alice_team)
    [row] = rows(response)
    assert text(row.story) == f"the poller received a code for {phone_text(activation.phone)}"
    assert f"/activations/{activation.pk}/" in row.story
    assert [call.action for call in row.calls] == ["getStatus"]
    # No person and no token did it: it says so, instead of "Browser".
    source = re.search(r'<span class="audit-source">(.*?)</span>', response.content.decode())
    assert source.group(1) == "In the background"


def test_a_failing_provider_makes_one_row_per_activation_not_one_per_poll(
    client, alice, alice_team, buy, sandbox_server
):
    first, second = buy(), buy()
    sandbox_server.sandbox.set_fault("http_500")
    for _ in range(3):
        Activation.objects.update(next_poll_at=timezone.now())
        one_pass()
    client.force_login(alice)
    listed = rows(audit(client, alice_team))
    assert [len(row.calls) for row in listed] == [3, 3]
    named = {text(row.story) for row in listed}
    assert named == {
        f"the poller checking activation {a.provider_activation_id} at Sandbox (poller test) "
        "for a code: the provider did not answer"
        for a in (first, second)
    }


def test_calls_without_an_action_are_grouped_per_request(client, alice, alice_team, alice_account):
    def failed_listing():
        record_call(
            team=alice_team,
            account=alice_account,
            action="getServicesAndCost",
            params={"country": "0"},
            answer="",
            http_status=503,
            latency_ms=5,
            outcome="unavailable",
        )

    with one_request():
        for _ in range(3):
            failed_listing()
    with one_request():
        failed_listing()
    client.force_login(alice)
    listed = rows(audit(client, alice_team))
    assert [len(row.calls) for row in listed] == [1, 3]
    assert text(listed[1].story) == (
        "the catalog sync asked Test provider for its prices: the provider did not answer"
    )


def test_a_long_group_lists_twenty_calls_and_counts_the_rest(
    client, alice, alice_team, alice_account
):
    with one_request():
        for country in range(25):
            record_call(
                team=alice_team,
                account=alice_account,
                action="getServicesAndCost",
                params={"country": str(country)},
                answer="",
                http_status=503,
                latency_ms=5,
                outcome="unavailable",
            )
    client.force_login(alice)
    page = audit(client, alice_team).content.decode()
    assert "<summary>25 provider calls</summary>" in page
    assert page.count("<code>getServicesAndCost</code>") == 20
    assert "and 5 more like these" in page


def test_a_call_goes_under_the_action_written_after_it(alice, alice_team, alice_account, tg_offer):
    def call(action, outcome):
        record_call(
            team=alice_team,
            account=alice_account,
            user=alice,
            action=action,
            params={},
            answer=outcome,
            http_status=200,
            latency_ms=1,
            outcome=outcome,
        )

    with one_request():  # a routed purchase: the first provider refuses, the second sells
        call("getNumber", "NO_NUMBERS")
        refused = record_action(
            team=alice_team, user=alice, action="bought", obj=tg_offer, outcome="NO_NUMBERS"
        )
        call("getNumber", "ok")
        bought = record_action(team=alice_team, user=alice, action="bought", obj=tg_offer)
    events = AuditEvent.objects.filter(team=alice_team)
    page = list(heads(events).order_by("-pk"))
    assert page == [bought, refused]
    nest_calls(page, events)
    assert [[c.outcome for c in row.calls] for row in page] == [["ok"], ["NO_NUMBERS"]]


def test_a_page_of_fifty_mixed_events_takes_a_fixed_number_of_queries(
    client,
    alice,
    bob,
    alice_team,
    alice_account,
    tg_offer,
    make_activation,
    django_assert_max_num_queries,
):
    me = acting(alice_team, alice)
    for n in range(10):
        activation = make_activation()
        with one_request():
            record_call(
                team=alice_team,
                account=alice_account,
                user=alice,
                obj=tg_offer,
                action="getNumber",
                params={},
                answer="ACCESS_NUMBER",
                http_status=200,
                latency_ms=1,
                outcome="ok",
            )
            record_action(team=alice_team, user=alice, action="bought", obj=activation, price=1)
        record_action(team=alice_team, user=bob, action="cancelled", obj=activation)
        record_action(team=alice_team, user=alice, action="bought", obj=tg_offer, outcome="x")
        record_action(
            team=alice_team, user=alice, action="key_replaced", obj=alice_account, masked_key="••"
        )
        create_token(acting=me, name=f"token {n}")
    client.force_login(alice)
    assert AuditEvent.objects.filter(kind="action").count() == 50
    with django_assert_max_num_queries(16):
        response = audit(client, alice_team)
    assert len(rows(response)) == 50


def test_repeated_balance_refreshes_add_no_rows(
    client, alice, alice_team, sandbox_account, sandbox_server
):
    client.force_login(alice)
    refresh = f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/refresh/"
    for _ in range(5):
        client.post(refresh)
    assert not AuditEvent.objects.exists()  # the sandbox's balance is the stored 1000.00

    sandbox_server.sandbox.set_balance(sandbox_server.api_key, 1234.5)
    client.post(refresh)
    client.post(refresh)
    [row] = rows(audit(client, alice_team))
    assert text(row.story) == (
        "alice refreshed the balance at Sandbox (test): $1,000.00 → $1,234.50"
    )
    assert [(c.action, c.answer) for c in row.calls] == [("getBalance", "1234.50")]
    assert row.ip == "127.0.0.1"  # where the person pressed Refresh from


def test_a_failed_balance_refresh_is_still_written(client, alice, alice_team, sandbox_account):
    wrong = "wrong-key-7a1b2c3d4e"
    ProviderAccount.objects.filter(pk=sandbox_account.pk).update(
        key_ciphertext=encrypt_key(wrong), key_last4=wrong[-4:]
    )
    client.force_login(alice)
    client.post(f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/refresh/")
    [row] = rows(audit(client, alice_team))
    assert row.action == "getBalance" and row.outcome == "BAD_KEY"
    assert text(row.story) == "alice checked the balance at Sandbox (test): the key was refused"


def test_the_filters_still_narrow_rows(client, alice, bob, alice_team, alice_account):
    with one_request():
        record_call(
            team=alice_team,
            account=alice_account,
            user=bob,
            action="setStatus",
            params={"status": "8"},
            answer="ACCESS_CANCEL",
            http_status=200,
            latency_ms=3,
            outcome="ok",
        )
        record_action(team=alice_team, user=bob, action="cancelled")
    record_action(team=alice_team, user=alice, action="key_removed", obj=alice_account)
    client.force_login(alice)
    assert [r.action for r in rows(audit(client, alice_team, f"?member={bob.pk}"))] == ["cancelled"]
    assert [r.action for r in rows(audit(client, alice_team, "?action=setStatus"))] == ["setStatus"]
    assert [r.action for r in rows(audit(client, alice_team, "?action=key_removed"))] == [
        "key_removed"
    ]


def test_the_admin_shows_the_request_id(admin_client, alice, alice_team):
    with one_request() as request_id:
        event = record_action(team=alice_team, user=alice, action="key_removed")
    response = admin_client.get(f"/admin/dashboard/auditevent/{event.pk}/change/")
    assert str(request_id) in response.content.decode()
    found = admin_client.get(f"/admin/dashboard/auditevent/?q={request_id}")
    assert list(found.context["cl"].result_list) == [event]


@pytest.mark.parametrize(
    ("phone", "shown"),
    [("79123456789", "+7 912 345-67-89"), ("447700900123", "+447700900123")],
)
def test_phones_read_as_people_write_them(phone, shown):
    assert phone_text(phone) == shown


def test_names_from_the_provider_are_escaped(client, alice, alice_team, make_activation):
    activation = make_activation()
    activation.service.name = "<script>x</script>"
    activation.service.save()
    record_action(team=alice_team, user=alice, action="bought", obj=activation, price=1)
    client.force_login(alice)
    page = audit(client, alice_team).content.decode()
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
