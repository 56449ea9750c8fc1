from activations.models import Activation
from tests.fixtures.activations import make_offer


def url(team, query=""):
    return f"/t/{team.slug}/buy/{query}"


def choices(offer, **extra):
    return {
        "service": offer.service_id,
        "country": offer.country_id,
        "operator": offer.operator_id,
        **extra,
    }


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
    response = client.get(url(alice_team, f"?service={sandbox_offer.service_id}"))
    form = response.context["form"]
    assert set(form.fields["country"].queryset) == {sandbox_offer.country, elsewhere.country}
    assert other_service.country not in form.fields["country"].queryset
    assert b"Choose a country first" in response.content
    response = client.get(
        url(alice_team, f"?service={sandbox_offer.service_id}&country={elsewhere.country_id}")
    )
    form = response.context["form"]
    assert list(form.fields["operator"].queryset) == [elsewhere.operator]
    assert "life — 3.00, 50 in stock" in response.content.decode()


def test_a_complete_choice_shows_price_and_stock(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    query = "?" + "&".join(f"{k}={v}" for k, v in choices(sandbox_offer).items())
    response = client.get(url(alice_team, query))
    assert response.context["offer"] == sandbox_offer
    assert f"Buy for {sandbox_offer.price}".encode() in response.content
    assert b"100 in stock" in response.content


def test_htmx_gets_only_the_form(client, alice, alice_team, sandbox_account, sandbox_offer):
    client.force_login(alice)
    response = client.get(
        url(alice_team, f"?service={sandbox_offer.service_id}"), headers={"HX-Request": "true"}
    )
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
    response = client.post(url(alice_team), choices(sandbox_offer, token="view-token-0001"))
    activation = Activation.objects.get()
    assert response.status_code == 302
    assert response.url == f"/t/{alice_team.slug}/activations/{activation.pk}/"


def test_a_double_submission_buys_once(client, alice, alice_team, sandbox_account, sandbox_offer):
    client.force_login(alice)
    data = choices(sandbox_offer, token="view-token-0002")
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
        url(alice_team), choices(sandbox_offer, token="view-token-0003"), follow=True
    )
    assert response.status_code == 200
    assert b"No numbers available" in response.content
    assert response.context["offer"] == sandbox_offer  # the same choices, ready to retry
    assert not Activation.objects.exists()


def test_an_incomplete_choice_is_a_message(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    response = client.post(
        url(alice_team), {"service": sandbox_offer.service_id, "token": "t" * 12}, follow=True
    )
    assert b"Choose a service, a country and an operator" in response.content


def test_a_team_without_keys_is_told_how_to_get_one(client, alice, alice_team, sandbox_offer):
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert b"no provider key yet" in response.content


def test_a_viewer_cannot_buy(client, victor, alice_team, sandbox_account, sandbox_offer):
    client.force_login(victor)
    assert client.get(url(alice_team)).status_code == 403
    response = client.post(url(alice_team), choices(sandbox_offer, token="view-token-0004"))
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
        "/t/charlies-team/buy/", choices(sandbox_offer, token="view-token-0005"), follow=True
    )
    assert not Activation.objects.exists()
    assert b"no provider key yet" in response.content or b"Choose a service" in response.content
