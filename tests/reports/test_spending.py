"""The spending breakdowns for the known March activations (see conftest.py)."""

from decimal import Decimal

from reports.spending import spending_breakdown

from .conftest import march_scope

D = Decimal


def test_it_breaks_spending_down_by_member(alice_team, march):
    rows = spending_breakdown(march_scope(alice_team), "member")
    assert [(r.label, r.bought, r.charged, r.spent, r.share) for r in rows] == [
        ("alice", 4, 3, D("27.25"), D("67.1")),
        ("bob", 3, 2, D("13.35"), D("32.9")),
    ]


def test_it_breaks_spending_down_by_service_country_and_operator(alice_team, march):
    scope = march_scope(alice_team)
    service = spending_breakdown(scope, "service")
    assert [(r.label, r.bought, r.charged, r.spent, r.share) for r in service] == [
        ("Telegram (tg)", 5, 4, D("33.35"), D("82.1")),
        ("WhatsApp (wa)", 2, 1, D("7.25"), D("17.9")),
    ]
    country = spending_breakdown(scope, "country")
    assert [(r.label, r.bought, r.charged, r.spent) for r in country] == [
        ("Russia", 5, 4, D("37.25")),
        ("Kazakhstan", 2, 1, D("3.35")),
    ]
    operator = spending_breakdown(scope, "operator")
    assert [(r.label, r.bought, r.charged, r.spent) for r in operator] == [
        ("mts (Russia)", 3, 3, D("30.00")),
        ("beeline (Russia)", 2, 1, D("7.25")),
        ("tele2 (Kazakhstan)", 2, 1, D("3.35")),
    ]


def test_it_sorts_a_breakdown(alice_team, march):
    scope = march_scope(alice_team)
    labels = lambda sort: [r.label for r in spending_breakdown(scope, "operator", sort)]  # noqa: E731
    assert labels("label") == ["beeline (Russia)", "mts (Russia)", "tele2 (Kazakhstan)"]
    assert labels("-label") == ["tele2 (Kazakhstan)", "mts (Russia)", "beeline (Russia)"]
    assert labels("spent") == ["tele2 (Kazakhstan)", "beeline (Russia)", "mts (Russia)"]
    # Ties keep alphabetical order; an unknown sort falls back to the most spent first.
    assert labels("bought") == ["beeline (Russia)", "tele2 (Kazakhstan)", "mts (Russia)"]
    assert labels("price; drop table") == labels("-spent")
