"""The catalog's country and operator lists (written out by the page, not by Django's widget):
every choice, the chosen one selected, "any" when nothing or something unknown is chosen."""

import re


def url(team, query=""):
    return f"/t/{team.slug}/catalog/{query}"


def options(content: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, text, selected) of each option of the <select name=...> in the page."""
    select = re.search(rf'<select name="{name}" id="id_{name}">(.*?)</select>', content, re.S)
    return [
        (value, text, bool(selected))
        for value, selected, text in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[1]
        )
    ]


def test_the_lists_offer_every_choice_and_mark_the_chosen_ones(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg", country=0, country_name="Russia", operator="mts")
    make_offer(provider, "tg", country=1, country_name="Ukraine", operator="kyivstar")
    client.force_login(bob)
    content = client.get(url(alice_team, "?country=1&operator=kyivstar")).content.decode()
    assert options(content, "country") == [
        ("", "Any country", False),
        ("0", "Russia", False),
        ("1", "Ukraine", True),
    ]
    assert options(content, "operator") == [
        ("", "Any operator", False),
        ("kyivstar", "kyivstar", True),
    ]


def shown(choices: list[tuple[str, str, bool]]) -> str:
    """What a browser shows: the selected option, or the first when none is."""
    return next((text for _, text, selected in choices if selected), choices[0][1])


def test_nothing_or_something_unknown_chosen_shows_any(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg", country=0, country_name="Russia", operator="mts")
    client.force_login(bob)
    for query in ("", "?country=&operator=", "?country=abc&operator=nope"):
        content = client.get(url(alice_team, query)).content.decode()
        assert shown(options(content, "country")) == "Any country"
        assert shown(options(content, "operator")) == "Any operator"
        assert ("mts", "mts", False) in options(content, "operator")


def test_names_are_escaped(client, bob, alice_team, provider, make_offer):
    make_offer(provider, "tg", country=5, country_name="<b>Côte</b>", operator="x")
    client.force_login(bob)
    content = client.get(url(alice_team)).content.decode()
    assert ("5", "&lt;b&gt;Côte&lt;/b&gt;", False) in options(content, "country")
