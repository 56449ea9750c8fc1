from decimal import Decimal

from activations.models import Activation, PriceLimit
from catalog.models import Country
from tests.fixtures.activations import buy_form, make_offer


def url(team, query=""):
    return f"/t/{team.slug}/buy/{query}"


def query_of(data: dict) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in data.items())


def test_it_shows_the_form_with_a_token(client, alice, alice_team, sandbox_account, sandbox_offer):
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert response.status_code == 200
    assert b'name="token"' in response.content
    assert b"Choose a service first" in response.content


def test_choices_narrow_each_other(client, alice, alice_team, sandbox_account, sandbox_offer):
    provider = sandbox_offer.provider
    elsewhere = make_offer(provider, service="tg", country=1, operator="life", price="3.00")
    other_service = make_offer(provider, service="wa", country=2, operator="beeline")
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg"))
    form = response.context["form"]
    countries = dict(form.fields["country"].choices)
    assert set(countries) - {""} == {0, 1}
    assert other_service.country.external_id not in countries
    assert b"Choose a country first" in response.content
    response = client.get(url(alice_team, "?service=tg&country=1"))
    form = response.context["form"]
    assert [code for code, _ in form.fields["operator"].choices] == ["any", "life"]
    assert "life — from $3.00, 50 in stock" in response.content.decode()
    assert elsewhere.operator.code == "life"


def test_each_service_country_and_operator_is_offered_once_across_providers(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    a, b = sandbox_offer.provider, sandbox_account_b.provider
    make_offer(a, service="tg", country=0, operator="mts", price="12.00", quantity=5)
    make_offer(b, service="tg", country=0, operator="mts", price="9.50", quantity=0)
    make_offer(b, service="tg", country=0, operator="beeline", price="11.00", quantity=7)
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg&country=0"))
    form = response.context["form"]
    services = [code for code, _ in form.fields["service"].choices if code]
    assert services == ["tg"]
    country = dict(form.fields["country"].choices)[0]
    # The best price among offers in stock (9.50 at B is sold out), all providers' stock.
    assert country == f"Country 0 — from $11.00, {100 + 5 + 7} in stock"
    operators = [label for _, label in form.fields["operator"].choices]
    assert operators[0].startswith("Any operator — from $11.00")
    assert operators[1:] == ["beeline — from $11.00, 7 in stock", "mts — from $12.00, 5 in stock"]


def test_the_candidates_are_shown_best_first_with_the_first_preselected(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    cheaper = make_offer(sandbox_account_b.provider, service="tg", country=0, price="2.00")
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg&country=0&operator=any"))
    page = response.content.decode()
    form = response.context["form"]
    assert [c.offer for c in form.candidates] == [cheaper, sandbox_offer]
    assert "Sandbox B (test), any, $2.00: no history yet" in page
    assert f'value="{cheaper.pk}" id="id_offer_0" checked' in page
    assert f'value="{sandbox_offer.pk}" id="id_offer_1">' in page
    assert "Buy for $2.00" in page


def test_picking_another_offer_shows_its_price_on_the_button(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    make_offer(sandbox_account_b.provider, service="tg", country=0, price="2.00")
    client.force_login(alice)
    response = client.get(url(alice_team, query_of(buy_form(sandbox_offer))))
    assert f"Buy for ${sandbox_offer.price}".encode() in response.content


def test_the_highest_price_is_the_teams_limit_for_the_service_and_hides_dearer_offers(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    cheap = make_offer(sandbox_account_b.provider, service="tg", country=0, price="2.00")
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("5.00"))
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg&country=0"))
    form = response.context["form"]
    assert form["max_price"].value() == Decimal("5.00")
    assert b'name="price_for" value="tg"' in response.content
    assert [c.offer for c in form.candidates] == [cheap]
    # A price the person typed for this service stays, and binds this purchase.
    response = client.get(url(alice_team, "?service=tg&country=0&price_for=tg&max_price=1.00"))
    assert response.context["form"].candidates == []
    assert (
        "within the highest price $1.00: the cheapest in stock costs $2.00"
        in response.content.decode()
    )


def test_a_new_service_brings_its_own_highest_price(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    make_offer(sandbox_offer.provider, service="wa", country=0, price="4.00")
    PriceLimit.objects.create(team=alice_team, service_code="wa", max_price=Decimal("7.00"))
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=wa&price_for=tg&max_price=99"))
    assert response.context["form"]["max_price"].value() == Decimal("7.00")


def test_htmx_gets_only_the_form(client, alice, alice_team, sandbox_account, sandbox_offer):
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg"), headers={"HX-Request": "true"})
    content = response.content.decode().strip()
    assert content.startswith('<form id="buy-form"')
    assert "<html" not in content
    assert 'hx-params="not csrfmiddlewaretoken"' in content


def test_a_token_survives_the_narrowing(client, alice, alice_team, sandbox_account, sandbox_offer):
    client.force_login(alice)
    response = client.get(url(alice_team, "?token=keep-this-token-123"))
    assert b'value="keep-this-token-123"' in response.content


def test_it_buys_and_opens_the_activation(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    response = client.post(url(alice_team), buy_form(sandbox_offer, token="view-token-0001"))
    activation = Activation.objects.get()
    assert response.status_code == 302
    assert response.url == f"/t/{alice_team.slug}/activations/{activation.pk}/"


def test_it_buys_the_offer_picked_though_another_is_cheaper(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    make_offer(sandbox_account_b.provider, service="tg", country=0, price="2.00")
    client.force_login(alice)
    response = client.post(
        url(alice_team), buy_form(sandbox_offer, token="view-token-0006"), follow=True
    )
    activation = Activation.objects.get()
    assert activation.provider == sandbox_offer.provider
    assert f"at {sandbox_offer.provider.name}" in response.content.decode()


def test_the_message_says_where_it_was_bought_and_why_not_elsewhere(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b, sandbox_server_b
):
    cheaper = make_offer(sandbox_account_b.provider, service="tg", country=0, price="2.00")
    sandbox_server_b.sandbox.set_offer("tg", 0, "any", quantity=0)
    client.force_login(alice)
    response = client.post(url(alice_team), buy_form(cheaper, token="view-token-0007"), follow=True)
    activation = Activation.objects.get()
    assert activation.provider == sandbox_offer.provider
    page = response.content.decode()
    assert f"at {sandbox_offer.provider.name}" in page
    assert "Sandbox B (test) (any) had no numbers" in page


def test_a_double_submission_buys_once(client, alice, alice_team, sandbox_account, sandbox_offer):
    client.force_login(alice)
    data = buy_form(sandbox_offer, token="view-token-0002")
    first = client.post(url(alice_team), data)
    second = client.post(url(alice_team), data, follow=True)
    assert Activation.objects.count() == 1
    assert second.redirect_chain[-1][0] == first.url
    assert b"already bought" in second.content


def test_a_refusal_returns_to_the_choices_with_a_message(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    sandbox_server.sandbox.set_offer("tg", 0, "any", quantity=0)
    client.force_login(alice)
    response = client.post(
        url(alice_team), buy_form(sandbox_offer, token="view-token-0003"), follow=True
    )
    assert response.status_code == 200
    assert b"no numbers" in response.content.lower()
    # The same choices, ready to retry.
    assert response.context["form"].picked.offer == sandbox_offer
    assert not Activation.objects.exists()


def test_an_incomplete_choice_is_a_message(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    response = client.post(url(alice_team), {"service": "tg", "token": "t" * 12}, follow=True)
    assert b"Choose a service, a country and an operator" in response.content


def test_a_negative_highest_price_is_a_message_and_buys_nothing(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    data = buy_form(sandbox_offer, token="view-token-0008", max_price="-1")
    response = client.post(url(alice_team), data, follow=True)
    assert b"Highest price: Ensure this value is greater than or equal to 0" in response.content
    assert not Activation.objects.exists()


def test_an_offer_no_longer_among_the_candidates_is_a_message(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    data = buy_form(sandbox_offer, token="view-token-0009", max_price="0.01")
    response = client.post(url(alice_team), data, follow=True)
    assert b"no longer among the choices" in response.content
    assert not Activation.objects.exists()


def test_a_team_without_keys_is_told_how_to_get_one(client, alice, alice_team, sandbox_offer):
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert b"no provider key yet" in response.content


def test_a_viewer_cannot_buy(client, victor, alice_team, sandbox_account, sandbox_offer):
    client.force_login(victor)
    assert client.get(url(alice_team)).status_code == 403
    response = client.post(url(alice_team), buy_form(sandbox_offer, token="view-token-0004"))
    assert response.status_code == 403
    assert not Activation.objects.exists()


def test_it_checks_membership(client, charlie, alice_team, sandbox_account, sandbox_offer):
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404


def test_charlie_cannot_buy_with_alices_offers_through_his_team(
    client, charlie, sandbox_account, sandbox_offer
):
    client.force_login(charlie)
    response = client.post(
        "/t/charlies-team/buy/", buy_form(sandbox_offer, token="view-token-0005"), follow=True
    )
    assert not Activation.objects.exists()
    assert b"no provider key yet" in response.content or b"Choose a service" in response.content


# --- In stock first, sold-out choices disabled, Buy disabled with its reason ----------------


def test_choices_in_stock_come_first_and_sold_out_ones_cannot_be_chosen(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    provider = sandbox_offer.provider
    make_offer(provider, service="tg", country=1, operator="mts", price="0.00", quantity=0)
    make_offer(provider, service="tg", country=1, operator="tele2", price="4.00", quantity=3)
    make_offer(provider, service="aa", country=0, price="1.00", quantity=0)
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg&country=1"))
    form = response.context["form"]
    body = response.content.decode()
    # "Country 1" sorts after "Country 0" by name either way; its stock is that of tele2 only,
    # and its "from" price ignores the sold-out 0.00.
    assert [label for _, label in form.fields["country"].choices][1:] == [
        f"Country 0 — from ${sandbox_offer.price}, 100 in stock",
        "Country 1 — from $4.00, 3 in stock",
    ]
    assert [label for _, label in form.fields["operator"].choices] == [
        "Any operator — from $4.00, 3 in stock",
        "tele2 — from $4.00, 3 in stock",
        "mts — out of stock",
    ]
    assert '<option value="mts" disabled>mts — out of stock</option>' in body
    # A service with nothing in stock anywhere comes last, disabled.
    services = [label for _, label in form.fields["service"].choices]
    assert services == ["Choose…", "TG (tg)", "AA (aa) — out of stock"]
    assert '<option value="aa" disabled>AA (aa) — out of stock</option>' in body


def test_a_sold_out_country_is_disabled_and_if_chosen_buy_says_why_not(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    sold_out = make_offer(sandbox_offer.provider, service="tg", country=7, price="0", quantity=0)
    Country.objects.filter(pk=sold_out.country_id).update(name="Albania")
    client.force_login(alice)
    response = client.get(url(alice_team, "?service=tg"))
    # Albania comes first by name, but after the countries in stock.
    assert [value for value, _ in response.context["form"].fields["country"].choices] == ["", 0, 7]
    assert '<option value="7" disabled>Albania — out of stock</option>' in (
        response.content.decode()
    )
    body = client.get(url(alice_team, "?service=tg&country=7&operator=any")).content.decode()
    assert '<button type="submit" class="primary" disabled aria-describedby="buy-why">Buy' in body
    assert 'id="buy-why" role="status">Nothing is in stock for TG in Albania right now.' in body


def test_over_the_team_budget_buy_is_disabled_and_says_why(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    alice_team.monthly_budget = sandbox_offer.price - Decimal("0.01")
    alice_team.save()
    client.force_login(alice)
    body = client.get(url(alice_team, query_of(buy_form(sandbox_offer)))).content.decode()
    assert (
        f'class="primary" disabled aria-describedby="buy-why">Buy for ${sandbox_offer.price}'
        in body
    )
    assert "This would go over the team&#x27;s monthly budget" in body


def test_over_the_members_own_limit_buy_is_disabled_and_says_why(
    client, bob, alice_team, sandbox_account, sandbox_offer
):
    membership = bob.memberships.get(team=alice_team)
    membership.monthly_limit = Decimal("1.00")
    membership.save()
    client.force_login(bob)
    body = client.get(url(alice_team, query_of(buy_form(sandbox_offer)))).content.decode()
    assert 'disabled aria-describedby="buy-why"' in body
    assert "This would go over your monthly limit ($0.00 of $1.00 used" in body


def test_within_the_budgets_buy_is_enabled(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    alice_team.monthly_budget = sandbox_offer.price
    alice_team.save()
    client.force_login(alice)
    body = client.get(url(alice_team, query_of(buy_form(sandbox_offer)))).content.decode()
    assert f'<button type="submit" class="primary">Buy for ${sandbox_offer.price}' in body
    assert "buy-why" not in body


def test_without_a_key_buy_is_disabled_and_says_why(client, alice, alice_team, sandbox_offer):
    client.force_login(alice)
    body = client.get(url(alice_team)).content.decode()
    assert 'disabled aria-describedby="buy-why">Buy</button>' in body
    assert "Buying needs a provider key." in body
