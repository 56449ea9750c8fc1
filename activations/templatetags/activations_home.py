"""Data for the activations part of the team home page (a fixed number of queries)."""

from django import template

from activations.budgets import month_budget
from catalog.models import ProviderAccount

register = template.Library()


@register.simple_tag(takes_context=True)
def home_panel_data(context) -> dict:
    from activations.views import open_table_context

    team, membership = context["team"], context["membership"]
    accounts = list(
        ProviderAccount.objects.filter(team=team)
        .exclude(key_ciphertext="")
        .select_related("provider")
    )
    return {
        "accounts": accounts,
        "budget": month_budget(team).team,
        **open_table_context(team, membership),
    }
