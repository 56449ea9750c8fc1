"""The frame of every page: the menu's groups in order, the current page marked, the icon."""

import re

import pytest


def nav_links(content: str) -> list[str]:
    nav = content[content.index('<nav class="mainnav"') : content.index("</nav>")]
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


def test_an_owner_sees_buying_first_then_catalog_reports_and_the_team_group(
    client, alice, alice_team
):
    client.force_login(alice)
    content = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert nav_links(content) == [
        "Home",
        "Buy",
        "Activations",
        "Catalog",
        "Reports",
        "Team",
        "Provider accounts",
        "Budgets",
        "Routing",
        "Audit log",
        "API access",
    ]
    # No script needed: the narrow screens' menu is a <details> button.
    assert '<details class="menu">' in content
    assert "<summary>Menu</summary>" in content


def test_a_viewer_sees_only_what_a_viewer_may_open(client, victor, alice_team):
    client.force_login(victor)
    content = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert nav_links(content) == ["Home", "Activations", "Catalog", "Reports", "Team"]


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("", "Home"),
        ("activations/", "Activations"),
        ("catalog/", "Catalog"),
        ("audit/", "Audit log"),
    ],
)
def test_the_current_page_is_marked(client, alice, alice_team, path, current):
    client.force_login(alice)
    content = client.get(f"/t/{alice_team.slug}/{path}").content.decode()
    marked = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', content)
    assert marked == [current]


def test_every_page_links_the_icon_and_the_one_stylesheet(client, alice, alice_team):
    client.force_login(alice)
    content = client.get(f"/t/{alice_team.slug}/reports/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in content
    assert re.findall(r'rel="stylesheet" href="([^"]+)"', content) == ["/static/css/app.css"]
