"""Forms of the activations pages: buying, filters, provider keys and budgets."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activations import buy_choices, routing
from activations.budgets import over_budget
from activations.models import Activation, RoutingPolicy
from activations.routing.choice import price_limits
from catalog.models import Provider, Service
from dashboard.audit import ACTION_LABELS
from dashboard.display import money
from dashboard.models import ApiToken, AuditEvent, Membership, Team
from dashboard.teams import team_day_start


def new_request_token() -> str:
    return secrets.token_urlsafe(24)


class AmountField(forms.DecimalField):
    """A decimal as a person types it in their language: in Russian "12,50" and
    "1 234,50" (a comma for the decimals, spaces between thousands) as well as "12.50".
    The input stays a number input rendered with a point (the browser shows it in the
    reader's way), so English is read exactly as before."""

    def to_python(self, value):
        if isinstance(value, str) and get_format("DECIMAL_SEPARATOR") == ",":
            value = "".join(value.split())  # spaces, no-break spaces too
            if "," in value and "." not in value:
                value = value.replace(",", ".")
        return super().to_python(value)


MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0"), "required": False}


def candidate_label(candidate: routing.Candidate) -> str:
    """The offer as the buy page lists it, e.g.
    "Sandbox B, mts, $12.30: 94 % got a code in the last 30 days, median 18 s"."""
    offer = candidate.offer
    price = money(offer.price, offer.provider.currency)
    return f"{offer.provider.name}, {offer.operator.code}, {price}: {candidate.record.summary}"


class BuyForm(forms.Form):
    """Service, then country, then operator (matched across the team's providers by the
    protocol's ids, `activations.buy_choices`), an optional highest price, and the offer to
    try first among the candidates routing found (`activations.routing.candidates`, best
    first under the team's policy; the first is preselected).

    The same form serves the narrowing (GET, re-rendered by htmx on every change, or by the
    "Show choices" button without JavaScript) and the purchase (POST). The highest price is
    prefilled with the team's limit for the service each time the service changes
    (`price_for` remembers which service the shown price belongs to).
    """

    service = forms.ChoiceField(
        label=gettext_lazy("Service"), choices=[], widget=buy_choices.ChoiceSelect
    )
    country = forms.TypedChoiceField(
        label=gettext_lazy("Country"), coerce=int, choices=[], widget=buy_choices.ChoiceSelect
    )
    operator = forms.ChoiceField(
        label=gettext_lazy("Operator"), choices=[], widget=buy_choices.ChoiceSelect
    )
    max_price = AmountField(
        label=gettext_lazy("Highest price"),
        help_text=gettext_lazy("Empty: the team's highest price for the service, if it has one."),
        **MONEY,
    )
    price_for = forms.CharField(widget=forms.HiddenInput, required=False, max_length=32)
    offer = forms.TypedChoiceField(
        coerce=int,
        choices=[],
        required=False,
        widget=forms.RadioSelect,
        label=gettext_lazy("Buy from"),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, data, *, team: Team, providers: list[Provider], bound: bool = True):
        """`bound=False` for the narrowing: the choices so far are shown, not validated."""
        picks = {name: data.get(name) for name in self.base_fields} if data else {}
        if not picks.get("token"):
            picks["token"] = new_request_token()
        if bound:
            super().__init__(data)
        else:
            super().__init__(initial=dict(picks))
        self.picks = picks
        self.currency = buy_choices.currency_of(providers, team)
        self._narrow(buy_choices.listed_offers(providers))
        self._route(team, bound)

    def _narrow(self, offers) -> None:
        """Offer the services, then the chosen service's countries, then its operators: those
        in stock first, the sold-out ones disabled."""
        fields, currency, choose = self.fields, self.currency, [("", _("Choose…"))]
        found = buy_choices.services_priced(offers)
        buy_choices.offer_choices(fields["service"], found, currency, first=choose, priced=False)
        self.service = self._picked("service")
        self.country = self.operator = None
        if self.service is not None:
            found = buy_choices.countries(offers, self.service)
            buy_choices.offer_choices(fields["country"], found, currency, first=choose)
            self.country = self._picked("country")
        if self.country is not None:
            found = buy_choices.operators(offers, self.service, self.country)
            buy_choices.offer_choices(fields["operator"], found, currency)
            self.operator = self._picked("operator") or buy_choices.ANY_OPERATOR
            self.initial["operator"] = self.operator

    def _route(self, team: Team, bound: bool) -> None:
        """The highest price, and the candidates for what is chosen, the picked one first."""
        self.asked_price = self._picked("max_price")
        if not bound and self.service is not None and self.picks.get("price_for") != self.service:
            # A new service: its own limit replaces the price shown for the one before.
            self.asked_price = price_limits(team).get(self.service)
            self.initial.update(max_price=self.asked_price, price_for=self.service)
        self.candidates = routing.candidates(team, self.want) if self.want else []
        # Why there is nothing to buy, when a complete choice finds nothing.
        self.nothing = (
            routing.why_nothing(team, self.want)[0] if self.want and not self.candidates else ""
        )
        self.fields["offer"].choices = [
            (candidate.offer.pk, candidate_label(candidate)) for candidate in self.candidates
        ]
        chosen = self._picked("offer")
        self.picked = next((c for c in self.candidates if c.offer.pk == chosen), None)
        if self.picked is None and self.candidates and not bound:
            self.picked = self.candidates[0]
            self.initial["offer"] = self.picked.offer.pk

    def _picked(self, name: str):
        """The value chosen for name if its field accepts it (among its choices), else None."""
        value = self.picks.get(name)
        if value in (None, ""):
            return None
        try:
            return self.fields[name].clean(value)
        except forms.ValidationError:
            return None

    @property
    def service_picked(self) -> bool:
        return self.service is not None

    @property
    def country_picked(self) -> bool:
        return self.country is not None

    @property
    def want(self) -> routing.Want | None:
        """What the person asks for, once service, country and operator are chosen."""
        if self.operator is None:
            return None
        return routing.Want(
            service=self.service,
            country=self.country,
            operator=self.operator,
            max_price=self.asked_price,
        )

    def why_not_buy(self, acting: Membership, spending: dict) -> str:
        """Why Buy cannot succeed now, said beside the disabled button: nothing to buy for a
        complete choice, or the offer picked over a budget (`budgets.over_budget`, this
        month's `spending_by_user` given); empty when it can, or while the choice is
        incomplete."""
        if self.want is not None and not self.candidates:
            return self.nothing
        if self.picked is None:
            return ""
        price, limit = self.picked.offer.price, acting.monthly_limit
        refusal = over_budget(acting.team, spending, price, user_id=acting.user_id, limit=limit)
        return refusal or ""

    def problem(self) -> str:
        """What to tell the person when the purchase's form is not valid."""
        if "max_price" in self.errors:
            return _("Highest price: %(error)s") % {"error": self.errors["max_price"][0]}
        if "offer" in self.errors:
            return _("That offer is no longer among the choices. Please choose again.")
        return _("Choose a service, a country and an operator.")


class UsualBuyForm(forms.Form):
    """A usual choice's one-click button (`activations.usual`): what to buy, by the
    protocol's ids, and the button's one-time token (a second click buys nothing more)."""

    service = forms.CharField(max_length=32)
    country = forms.IntegerField(min_value=0, max_value=2**31 - 1)
    operator = forms.CharField(max_length=32)
    token = forms.CharField(max_length=64)

    @property
    def want(self) -> routing.Want:
        data = self.cleaned_data
        return routing.Want(
            service=data["service"], country=data["country"], operator=data["operator"]
        )


class TeamRecordsFilterForm(forms.Form):
    """Who and when: the filters the activations list and the audit log share."""

    member = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Anyone"),
        label=gettext_lazy("Member"),
    )
    date_from = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, data, *, team: Team):
        super().__init__(data)
        self.team = team
        self.fields["member"].queryset = team_people(team)
        self.fields["member"].label_from_instance = lambda user: user.get_username()

    def filtered(self, rows: QuerySet) -> QuerySet:
        """rows (with `user` and `created_at`) narrowed by the valid filters; all when none."""
        if not self.is_valid():
            return rows
        data = self.cleaned_data
        if data["member"]:
            rows = rows.filter(user=data["member"])
        if data["date_from"]:
            rows = rows.filter(created_at__gte=team_day_start(self.team, data["date_from"]))
        if data["date_to"]:
            next_day = team_day_start(self.team, data["date_to"]) + timedelta(1)
            rows = rows.filter(created_at__lt=next_day)
        return rows


def team_people(team: Team):
    """Members, and people who acted in the team before they left it.

    One EXISTS per source, not joins: joining a user's activations and audit events multiplies
    their rows (2.5 s for a team with 2,000 of each on PostgreSQL, 5 to 13 ms with EXISTS)."""
    return User.objects.filter(
        Exists(Membership.objects.filter(team=team, user=OuterRef("pk")))
        | Exists(Activation.objects.filter(team=team, user=OuterRef("pk")))
        | Exists(AuditEvent.objects.filter(team=team, user=OuterRef("pk")))
    ).order_by("username")


class ActivationFilterForm(TeamRecordsFilterForm):
    state = forms.ChoiceField(
        required=False,
        label=gettext_lazy("State"),
        choices=[
            ("", gettext_lazy("Any state")),
            ("open", gettext_lazy("Open")),
            *Activation.State.choices,
        ],
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any service"),
        label=gettext_lazy("Service"),
    )
    field_order = ["state", "service"]

    def __init__(self, data, *, team: Team):
        super().__init__(data, team=team)
        self.fields["service"].queryset = Service.objects.filter(
            pk__in=Activation.objects.filter(team=team).values("service_id")
        )

    def filtered(self, rows: QuerySet) -> QuerySet:
        rows = super().filtered(rows)
        if not self.is_valid():
            return rows
        state, service = self.cleaned_data["state"], self.cleaned_data["service"]
        if state == "open":
            rows = rows.filter(state__in=Activation.OPEN_STATES)
        elif state:
            rows = rows.filter(state=state)
        if service:
            rows = rows.filter(service=service)
        return rows


BROWSER = "browser"


def source_choices(team: Team, any_label: str) -> list[tuple[str, str]]:
    """Where records came from: any, the browser, or each personal API token of the team
    (revoked ones too: their past stays theirs). One query."""
    tokens = ApiToken.objects.filter(team=team).order_by("name", "pk")
    return [("", any_label), (BROWSER, _("Browser")), *((str(t.pk), t.label) for t in tokens)]


def filter_by_source(rows: QuerySet, source: str) -> QuerySet:
    """rows (with an `api_token`) from the browser (no token) or through one token."""
    if source == BROWSER:
        return rows.filter(api_token__isnull=True)
    if source:
        return rows.filter(api_token_id=int(source))
    return rows


class AuditFilterForm(TeamRecordsFilterForm):
    action = forms.ChoiceField(required=False, label=gettext_lazy("Action"))
    source = forms.ChoiceField(required=False, label=gettext_lazy("Source"))
    field_order = ["member", "action", "source"]

    def __init__(self, data, *, team: Team):
        super().__init__(data, team=team)
        self.fields["action"].choices = [("", _("Any action")), *ACTION_LABELS.items()]
        self.fields["source"].choices = source_choices(team, _("Any source"))

    def filtered(self, rows: QuerySet) -> QuerySet:
        rows = super().filtered(rows)
        if not self.is_valid():
            return rows
        if self.cleaned_data["action"]:
            rows = rows.filter(action=self.cleaned_data["action"])
        return filter_by_source(rows, self.cleaned_data["source"])


class AttachKeyForm(forms.Form):
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.filter(enabled=True), label=gettext_lazy("Provider")
    )
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        max_length=200,
        strip=True,
        # Never rendered back: a failed form shows an empty field.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class BudgetForm(forms.Form):
    """The team's monthly budget and one limit field per member (empty means unlimited)."""

    monthly_budget = AmountField(
        label=gettext_lazy("Team monthly budget"),
        help_text=gettext_lazy("Empty means unlimited."),
        **MONEY,
    )

    def __init__(self, data, *, team: Team, memberships: list[Membership]):
        initial = {"monthly_budget": team.monthly_budget}
        for membership in memberships:
            initial[self.field_name(membership)] = membership.monthly_limit
        super().__init__(data, initial=initial)
        self.memberships = memberships
        for membership in memberships:
            self.fields[self.field_name(membership)] = AmountField(
                label=_("Monthly limit of %(member)s") % {"member": membership.user.get_username()},
                **MONEY,
            )

    @staticmethod
    def field_name(membership: Membership) -> str:
        return f"limit_{membership.pk}"

    def member_rows(self):
        return [(m, self[self.field_name(m)]) for m in self.memberships]

    def member_limits(self) -> dict[int, Decimal | None]:
        return {m.pk: self.cleaned_data[self.field_name(m)] for m in self.memberships}


class RoutingPolicyForm(forms.Form):
    policy = forms.ChoiceField(
        choices=RoutingPolicy.choices,
        widget=forms.RadioSelect,
        label=gettext_lazy("Which offer a purchase tries first"),
    )


class PriceLimitForm(forms.Form):
    """Add or change the team's highest price for a service the team's providers list."""

    service_code = forms.ChoiceField(label=gettext_lazy("Service"), choices=[])
    max_price = AmountField(label=gettext_lazy("Highest price"), **(MONEY | {"required": True}))

    def __init__(self, data=None, *, providers: list[Provider]):
        super().__init__(data)
        offers = buy_choices.listed_offers(providers)
        self.fields["service_code"].choices = [("", _("Choose…"))] + [
            (choice.value, choice.name) for choice in buy_choices.services(offers)
        ]


class RemovePriceLimitForm(forms.Form):
    service_code = forms.CharField(max_length=32)
