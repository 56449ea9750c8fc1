from datetime import timedelta

from django.utils import timezone

from activations.models import Activation
from catalog.models import Service
from tests.fixtures.activations import make_offer

State = Activation.State


def url(team, query=""):
    return f"/t/{team.slug}/activations/{query}"


def test_it_lists_the_teams_activations_newest_first(client, alice, alice_team, make_activation):
    older = make_activation(created_at=timezone.now() - timedelta(hours=1))
    newer = make_activation()
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert response.status_code == 200
    page = list(response.context["page"])
    assert page == [newer, older]
    assert f"+{newer.phone}".encode() in response.content


def test_it_checks_membership(client, charlie, alice_team, make_activation):
    make_activation()
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404


def test_charlie_sees_none_of_alices_activations_in_his_own_team(client, charlie, make_activation):
    activation = make_activation()
    client.force_login(charlie)
    response = client.get("/t/charlies-team/activations/")
    assert response.status_code == 200
    assert activation.phone.encode() not in response.content


def test_a_viewer_sees_the_list_without_a_buy_button(client, victor, alice_team, make_activation):
    make_activation()
    client.force_login(victor)
    response = client.get(url(alice_team))
    assert response.status_code == 200
    assert b"Buy a number" not in response.content


def test_it_filters_by_state_service_member_and_date(
    client, alice, bob, alice_team, make_activation, act_provider
):
    waiting = make_activation()
    cancelled = make_activation(state=State.CANCELLED)
    bobs = make_activation(user=bob)
    other_service = make_offer(act_provider, service="wa").service
    whatsapp = make_activation(service=other_service)
    old = make_activation(created_at=timezone.now() - timedelta(days=3))
    client.force_login(alice)

    def listed(query):
        return set(client.get(url(alice_team, query)).context["page"])

    assert listed("?state=cancelled") == {cancelled}
    assert cancelled not in listed("?state=open")
    assert listed(f"?member={bob.pk}") == {bobs}
    assert listed(f"?service={other_service.pk}") == {whatsapp}
    today = timezone.now().date()
    assert old not in listed(f"?date_from={today}")
    assert listed(f"?date_to={today - timedelta(days=2)}") == {old}
    assert waiting in listed("")


def test_a_bad_filter_value_is_a_form_error_not_a_crash(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(url(alice_team, "?state=nonsense&date_from=yesterday"))
    assert response.status_code == 200
    assert response.context["form"].errors


def test_it_paginates(client, alice, alice_team, make_activation):
    for _ in range(27):
        make_activation(state=State.COMPLETED)
    client.force_login(alice)
    first = client.get(url(alice_team))
    assert len(first.context["page"]) == 25
    second = client.get(url(alice_team, "?page=2&state=completed"))
    assert len(second.context["page"]) == 2
    # The newer page's link keeps the filter, and works without JavaScript (no htmx).
    assert b'<a href="?page=1&amp;state=completed" rel="prev">\xe2\x86\x90 Newer</a>' in (
        second.content
    )


def test_the_open_table_polls_while_something_is_open(client, alice, alice_team, make_activation):
    make_activation()
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert f'hx-get="/t/{alice_team.slug}/activations/open/"'.encode() in response.content
    assert b'hx-trigger="every 2s"' in response.content


def test_the_open_table_partial_stops_polling_when_nothing_is_open(
    client, alice, alice_team, make_activation
):
    make_activation(state=State.COMPLETED)
    client.force_login(alice)
    response = client.get(url(alice_team, "open/"), headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert b"No open activations" in response.content
    assert b"<html" not in response.content
    assert b"hx-get" not in response.content


def test_the_open_table_partial_shows_codes(client, alice, alice_team, make_activation):
    make_activation(state=State.CODE_RECEIVED, codes=["4321"])
    client.force_login(alice)
    response = client.get(url(alice_team, "open/"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"4321" in response.content
    assert b'data-copy="4321"' in response.content


def test_the_open_table_partial_reads_a_constant_number_of_queries(
    client, alice, alice_team, make_activation, django_assert_max_num_queries
):
    """Session, user, membership, the activations (+ the session's save)."""
    client.force_login(alice)
    make_activation()
    client.get(url(alice_team, "open/"), headers={"HX-Request": "true"})
    with django_assert_max_num_queries(7) as one:
        client.get(url(alice_team, "open/"), headers={"HX-Request": "true"})
    for _ in range(15):
        make_activation(state=State.CODE_RECEIVED, codes=["1"])
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url(alice_team, "open/"), headers={"HX-Request": "true"})
    assert Service.objects.count() == 1


def test_an_empty_list_says_how_to_start(client, alice, victor, alice_team):
    client.force_login(alice)
    body = client.get(url(alice_team)).content.decode()
    assert "No activations yet — " in body
    assert f'<a href="/t/{alice_team.slug}/buy/">Buy a number</a>; its code appears here' in body
    client.force_login(victor)  # a viewer cannot buy: no link to a page refused to them
    body = client.get(url(alice_team)).content.decode()
    assert "No activations yet: the numbers your team buys appear here." in body


def test_an_empty_filtered_list_offers_the_whole_list(client, alice, alice_team, make_activation):
    make_activation()
    client.force_login(alice)
    body = client.get(url(alice_team, "?state=cancelled")).content.decode()
    assert "No activations match these filters." in body
    assert "No activations yet" not in body
