import pytest

from activations.models import Activation

State = Activation.State
HTMX = {"HX-Request": "true"}


def url(activation, query=""):
    return f"/t/{activation.team.slug}/activations/{activation.pk}/{query}"


@pytest.fixture
def no_provider_calls(monkeypatch):
    """Pages read the database only: any client construction fails the test."""
    import catalog.upstream as upstream

    def refuse(*args, **kwargs):
        raise AssertionError("a page talked to the provider")

    monkeypatch.setattr(upstream.ProviderClient, "__init__", refuse)
    monkeypatch.setattr(upstream.AsyncProviderClient, "__init__", refuse)


def test_it_shows_the_activation(client, alice, make_activation, no_provider_calls):
    activation = make_activation(state=State.CODE_RECEIVED, codes=["0042", "7:77 code"])
    client.force_login(alice)
    response = client.get(url(activation))
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-copy="+{activation.phone}"' in content
    assert 'data-copy="0042"' in content
    assert 'data-copy="7:77 code"' in content
    assert str(activation.price) in content
    assert "Code received" in content
    assert "<title>7:77 code · +" in content
    assert "/retry/" in content and "/complete/" in content
    assert "/cancel/" not in content  # not allowed once a code arrived


def test_a_waiting_activation_offers_cancel_only(client, alice, make_activation):
    activation = make_activation()
    client.force_login(alice)
    content = client.get(url(activation)).content.decode()
    assert "/cancel/" in content
    assert "/retry/" not in content and "/complete/" not in content
    assert "Waiting for the SMS" in content


def test_a_viewer_sees_no_actions(client, victor, make_activation):
    activation = make_activation(state=State.CODE_RECEIVED, codes=["1"])
    client.force_login(victor)
    content = client.get(url(activation)).content.decode()
    assert '<form method="post" action="/t/' not in content


def test_it_checks_membership(client, charlie, make_activation):
    client.force_login(charlie)
    assert client.get(url(make_activation())).status_code == 404


def test_another_teams_activation_is_not_found_through_charlies_team(
    client, charlie, make_activation
):
    activation = make_activation()
    client.force_login(charlie)
    assert client.get(f"/t/charlies-team/activations/{activation.pk}/").status_code == 404


def test_it_polls_while_open(client, alice, make_activation):
    activation = make_activation()
    client.force_login(alice)
    content = client.get(url(activation)).content.decode()
    assert f'hx-get="{url(activation)}?seen=0&amp;shown=' in content
    assert 'hx-trigger="every 2s"' in content
    assert 'hx-swap="outerHTML"' in content


def test_the_status_partial_is_the_pages_own_fragment(
    client, alice, make_activation, no_provider_calls
):
    activation = make_activation(state=State.CODE_RECEIVED, codes=["1111", "2222"])
    client.force_login(alice)
    response = client.get(url(activation, "?seen=1"), headers=HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert '<section id="activation-status"' in content
    assert "<title>2222 · +" in content  # htmx puts it in the tab's title
    assert content.count("<section") == 1
    assert '<span class="code">1111</span>' in content
    assert '<span class="code new">2222</span>' in content  # arrived since the last poll


def test_the_partial_stops_polling_once_closed(client, alice, make_activation):
    activation = make_activation(state=State.COMPLETED, codes=["1"])
    client.force_login(alice)
    response = client.get(url(activation, "?seen=1"), headers=HTMX)
    assert response.status_code == 286
    assert b"Completed" in response.content
    assert b"hx-trigger" not in response.content


def test_the_partial_reads_a_constant_number_of_queries(
    client, alice, make_activation, django_assert_max_num_queries
):
    few = make_activation(state=State.CODE_RECEIVED, codes=["1"])
    many = make_activation(state=State.CODE_RECEIVED, codes=[str(n) for n in range(30)])
    client.force_login(alice)
    client.get(url(few), headers=HTMX)
    with django_assert_max_num_queries(7) as first:
        client.get(url(few), headers=HTMX)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url(many), headers=HTMX)


def test_a_flaky_provider_is_shown_as_retrying(client, alice, make_activation):
    activation = make_activation(poll_failures=3)
    client.force_login(alice)
    assert b"Provider not answering, retrying" in client.get(url(activation)).content


def test_it_says_where_it_was_bought_and_which_offers_routing_passed(
    client, alice, make_activation, no_provider_calls
):
    activation = make_activation(
        route={
            "policy": "reliable",
            "tried": [
                {"provider": "Sandbox A", "operator": "mts", "answer": "NO_NUMBERS"},
                {"provider": "Sandbox C", "operator": "any", "answer": "<b>WEIRD</b>" * 20},
            ],
        }
    )
    client.force_login(alice)
    content = client.get(url(activation)).content.decode()
    assert f"Bought at {activation.provider.name}" in content
    assert "Most reliable offer first; passed:" in content
    assert "<li>Sandbox A (mts) had no numbers</li>" in content
    # A provider's own word is shown shortened and escaped.
    assert "Sandbox C (any) refused (&lt;b&gt;WEIRD" in content
    assert "<b>WEIRD" not in content


def test_a_number_bought_before_routing_says_only_where(client, alice, make_activation):
    activation = make_activation()
    client.force_login(alice)
    content = client.get(url(activation)).content.decode()
    assert f"Bought at {activation.provider.name}" in content
    assert "offer first" not in content
