"""The reports' filters: a date range (a preset or two days), member, service, country and
source (the browser, or one personal API token).

The form reads the query string, so a report's URL holds its filters, and the CSV links carry
the same query string. Presets are counted in the team's local days.
"""

from datetime import date, timedelta

from django import forms
from django.contrib.auth.models import User
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from activations.forms import source_choices
from catalog.models import Country, Service
from dashboard.models import Team
from reports.engine import GRAINS, Scope, auto_grain

RANGES = [
    ("today", _("Today")),
    ("7d", _("Last 7 days")),
    ("month", _("This month")),
    ("last_month", _("Last month")),
    # Translators: a custom date range in the reports' filters.
    ("custom", pgettext_lazy("report range", "Custom")),
]
DEFAULT_RANGE = "month"
LONGEST_RANGE = timedelta(days=3 * 366)


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """First and last day (both included) of a preset range, counted back from today."""
    if preset == "today":
        return today, today
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    return today.replace(day=1), today


class PlainSelect(forms.Select):
    """A <select> built in Python: with dozens of services and countries, rendering a template
    per <option> cost more than the report's queries."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(option), SELECTED if str(option) in chosen else "", label)
                for option, label in self.choices
            ),
        )
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        return format_html("<select{}>{}</select>", flatatt(final_attrs), options)


SELECTED = mark_safe(" selected")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_username()


class ReportFilterForm(forms.Form):
    range = forms.ChoiceField(choices=RANGES, required=False, label=_("Period"))
    start = forms.DateField(
        required=False,
        label=pgettext_lazy("report range", "From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False,
        label=pgettext_lazy("report range", "To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    member = MemberChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("Member"),
        empty_label=_("Everyone"),
        widget=PlainSelect,
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        label=_("Service"),
        empty_label=_("All services"),
        widget=PlainSelect,
    )
    country = forms.ModelChoiceField(
        queryset=Country.objects.none(),
        required=False,
        label=_("Country"),
        empty_label=_("All countries"),
        widget=PlainSelect,
    )
    source = forms.ChoiceField(required=False, label=_("Source"), widget=PlainSelect)
    by = forms.ChoiceField(
        choices=[
            ("", _("Automatic")),
            ("day", pgettext_lazy("report", "Day")),
            ("week", pgettext_lazy("report", "Week")),
            ("month", pgettext_lazy("report", "Month")),
        ],
        required=False,
        label=_("Chart by"),
    )

    def __init__(self, data, *, team: Team, today: date):
        super().__init__(data)
        self.team = team
        self.today = today
        self.fields["member"].queryset = User.objects.filter(memberships__team=team).order_by(
            "username"
        )
        # What the team can buy: the catalogs of the providers it has an account with.
        providers = team.provider_accounts.values("provider_id")
        self.fields["service"].queryset = Service.objects.filter(provider__in=providers).order_by(
            "name", "code"
        )
        self.fields["country"].queryset = Country.objects.filter(provider__in=providers).order_by(
            "name"
        )
        self.fields["source"].choices = source_choices(team, gettext("All sources"))

    def clean(self):
        data = super().clean()
        preset = data.get("range") or ""
        start, end = data.get("start"), data.get("end")
        if not preset:
            preset = "custom" if (start or end) else DEFAULT_RANGE
            data["range"] = preset
        if preset != "custom":
            data["start"], data["end"] = preset_period(preset, self.today)
            return data
        if not start or not end:
            raise forms.ValidationError(gettext("A custom period needs a first and a last day."))
        if start > end:
            raise forms.ValidationError(gettext("The first day comes after the last day."))
        if end - start > LONGEST_RANGE:
            raise forms.ValidationError(gettext("A report covers at most three years."))
        return data

    # Not "start" and "end": templates read form.start as the field.
    @property
    def first_day(self) -> date:
        return self.cleaned_data["start"]

    @property
    def last_day(self) -> date:
        return self.cleaned_data["end"]

    def scope(self) -> Scope:
        """What the report covers; call after is_valid() returned True."""
        member, service, country, source = (
            self.cleaned_data.get(k) for k in ("member", "service", "country", "source")
        )
        return Scope(
            team=self.team,
            start=self.first_day,
            end=self.last_day,
            user_id=member.pk if member else None,
            service_id=service.pk if service else None,
            country_id=country.pk if country else None,
            source=source or "",
        )

    def grain(self) -> str:
        """Day, week or month for the charts: as asked, else what fits the period."""
        chosen = self.cleaned_data.get("by")
        if chosen in GRAINS:
            return chosen
        return auto_grain(self.first_day, self.last_day)


def default_form(team: Team, today: date) -> ReportFilterForm:
    """The unfiltered this-month form, used when the query string does not validate."""
    form = ReportFilterForm({}, team=team, today=today)
    form.is_valid()
    return form
