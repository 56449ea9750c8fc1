"""The API access page's form: a new personal token's name and limits."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from activations.forms import AmountField
from catalog.accounts import keyed_providers
from catalog.models import Service
from catalog.names import localized_name
from dashboard.models import Team


def team_service_codes(team: Team) -> list[tuple[str, str]]:
    """(code, label) of every service the team can buy: the catalogs of the enabled providers
    where it holds a key, one entry per code (several providers may sell the same code)."""
    rows = (
        Service.objects.filter(provider__in=keyed_providers(team))
        .annotate(shown=localized_name())
        .order_by("shown", "code")
        .values_list("code", "shown")
        .distinct()
    )
    names: dict[str, str] = {}
    for code, name in rows:
        names.setdefault(code, name)
    return sorted(
        ((code, f"{name} ({code})") for code, name in names.items()),
        key=lambda choice: choice[1].casefold(),
    )


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        strip=True,
        help_text=_("What the token is for, e.g. the program or machine that uses it."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    max_price = AmountField(
        label=_("Highest price per number"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text=_("Empty means any price."),
    )
    daily_limit = forms.IntegerField(
        label=_("Numbers per day"),
        min_value=1,
        max_value=1_000_000,
        required=False,
        help_text=_("In the team's time zone; empty means no limit."),
    )
    services = forms.MultipleChoiceField(
        label=_("Allowed services"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means every service."),
    )
    balance_prefix = forms.BooleanField(
        # Translators: getBalance and ACCESS_BALANCE are protocol words: keep them as they are.
        label=_("Answer getBalance as ACCESS_BALANCE:<amount>"),
        required=False,
        help_text=_(
            "For clients written for that variant of the protocol; "
            "leave unticked for the plain number."
        ),
    )

    def __init__(self, data=None, *, team: Team):
        super().__init__(data)
        self.fields["services"].choices = team_service_codes(team)

    def token_options(self) -> dict:
        """The keyword arguments of `create_token` (after is_valid())."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "max_price": data["max_price"],
            "daily_limit": data["daily_limit"],
            "services": list(data["services"]),
            "balance_prefix": data["balance_prefix"],
        }
