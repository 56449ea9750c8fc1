"""Forms of the activations pages: buying, filters, provider keys and budgets."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth.models import User
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Sum

from activations.models import Activation
from catalog.models import Country, Offer, Operator, Provider, Service
from dashboard.audit import ACTION_LABELS
from dashboard.models import ApiToken, AuditEvent, Membership, Team
from dashboard.teams import money, team_day_start


def new_request_token() -> str:
    return secrets.token_urlsafe(24)


class BuyForm(forms.Form):
    """Service, then country, then operator; each choice narrows the next.

    The same form serves the narrowing (GET, re-rendered by htmx on every change, or by the
    "Show choices" button without JavaScript) and the purchase (POST).
    """

    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label="Choose…")
    country = forms.ModelChoiceField(queryset=Country.objects.none(), empty_label="Choose…")
    operator = forms.ModelChoiceField(queryset=Operator.objects.none(), empty_label="Choose…")
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, data, *, providers: list[Provider], bound: bool = True):
        """`bound=False` for the narrowing: the choices so far are shown, not validated."""
        picks = {name: data.get(name) for name in self.base_fields} if data else {}
        if not picks.get("token"):
            picks["token"] = new_request_token()
        if bound:
            super().__init__(data)
        else:
            super().__init__(initial=picks)
        self.picks = picks
        offers = Offer.objects.filter(provider__in=providers, available=True)
        self.offers = offers
        self.several_providers = len(providers) > 1

        services = Service.objects.filter(
            pk__in=offers.values("service_id").distinct()
        ).select_related("provider")
        self.fields["service"].queryset = services
        self.fields["service"].label_from_instance = self._service_label
        service = self._picked("service", services)

        countries = Country.objects.none()
        if service is not None:
            countries = (
                Country.objects.filter(offers__in=offers.filter(service=service))
                .annotate(
                    from_price=Min("offers__price", filter=Q(offers__service=service)),
                    stock=Sum("offers__quantity", filter=Q(offers__service=service)),
                    offer_count=Count("offers", filter=Q(offers__service=service)),
                )
                .order_by("name")
            )
        self.fields["country"].queryset = countries
        self.fields["country"].label_from_instance = lambda c: (
            f"{c.name} — from {money(c.from_price)}, {c.stock or 0} in stock"
        )
        country = self._picked("country", countries)

        operators = Operator.objects.none()
        if service is not None and country is not None:
            operators = (
                Operator.objects.filter(country=country, offers__in=offers.filter(service=service))
                .annotate(
                    price=Min("offers__price", filter=Q(offers__service=service)),
                    stock=Sum("offers__quantity", filter=Q(offers__service=service)),
                )
                .order_by("price", "code")
            )
        self.fields["operator"].queryset = operators
        self.fields["operator"].label_from_instance = lambda o: (
            f"{o.code} — {money(o.price)}, {o.stock or 0} in stock"
        )
        self.service, self.country = service, country
        self.operator = self._picked("operator", operators)

    @property
    def service_picked(self) -> bool:
        return self.service is not None

    @property
    def country_picked(self) -> bool:
        return self.country is not None

    def _service_label(self, service: Service) -> str:
        if self.several_providers:
            return f"{service.name} ({service.code}) at {service.provider.name}"
        return f"{service.name} ({service.code})"

    def _picked(self, name: str, queryset):
        """The choice the user made for name, if it is still among the offered ones."""
        value = self.picks.get(name)
        if not value or not str(value).isdigit():
            return None
        return next((row for row in queryset if row.pk == int(value)), None)

    @property
    def offer(self) -> Offer | None:
        if self.service is None or self.country is None or self.operator is None:
            return None
        return (
            self.offers.filter(service=self.service, country=self.country, operator=self.operator)
            .select_related("provider", "service", "country", "operator")
            .first()
        )


class TeamRecordsFilterForm(forms.Form):
    """Who and when: the filters the activations list and the audit log share."""

    member = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Anyone"
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
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
        required=False, choices=[("", "Any state"), ("open", "Open"), *Activation.State.choices]
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Any service"
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
    return [("", any_label), (BROWSER, "Browser"), *((str(t.pk), t.label) for t in tokens)]


def filter_by_source(rows: QuerySet, source: str) -> QuerySet:
    """rows (with an `api_token`) from the browser (no token) or through one token."""
    if source == BROWSER:
        return rows.filter(api_token__isnull=True)
    if source:
        return rows.filter(api_token_id=int(source))
    return rows


class AuditFilterForm(TeamRecordsFilterForm):
    action = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False)
    field_order = ["member", "action", "source"]

    def __init__(self, data, *, team: Team):
        super().__init__(data, team=team)
        self.fields["action"].choices = [("", "Any action"), *ACTION_LABELS.items()]
        self.fields["source"].choices = source_choices(team, "Any source")

    def filtered(self, rows: QuerySet) -> QuerySet:
        rows = super().filtered(rows)
        if not self.is_valid():
            return rows
        if self.cleaned_data["action"]:
            rows = rows.filter(action=self.cleaned_data["action"])
        return filter_by_source(rows, self.cleaned_data["source"])


class AttachKeyForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=Provider.objects.filter(enabled=True))
    api_key = forms.CharField(
        label="API key",
        max_length=200,
        strip=True,
        # Never rendered back: a failed form shows an empty field.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0"), "required": False}


class BudgetForm(forms.Form):
    """The team's monthly budget and one limit field per member (empty means unlimited)."""

    monthly_budget = forms.DecimalField(
        label="Team monthly budget", help_text="Empty means unlimited.", **MONEY
    )

    def __init__(self, data, *, team: Team, memberships: list[Membership]):
        initial = {"monthly_budget": team.monthly_budget}
        for membership in memberships:
            initial[self.field_name(membership)] = membership.monthly_limit
        super().__init__(data, initial=initial)
        self.memberships = memberships
        for membership in memberships:
            self.fields[self.field_name(membership)] = forms.DecimalField(
                label=f"Monthly limit of {membership.user.get_username()}", **MONEY
            )

    @staticmethod
    def field_name(membership: Membership) -> str:
        return f"limit_{membership.pk}"

    def member_rows(self):
        return [(m, self[self.field_name(m)]) for m in self.memberships]

    def member_limits(self) -> dict[int, Decimal | None]:
        return {m.pk: self.cleaned_data[self.field_name(m)] for m in self.memberships}
