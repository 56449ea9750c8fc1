"""What the reports break activations down by (member, provider, service, country, operator,
service through operator), and one grouped pass that returns every breakdown's labelled
groups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import Country, Operator, Provider, Service
from catalog.names import localized_name
from reports.engine import Dimension, Scope, grouped_rows
from reports.series import PeriodRow, series_of

WHOLE_SCOPE = gettext_noop(
    "All activations"
)  # the label of the whole scope's row (the "" breakdown)


def usernames(ids: Iterable[int]) -> dict[int, str]:
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))


def provider_names(ids: Iterable[int]) -> dict[int, str]:
    return dict(Provider.objects.filter(pk__in=ids).values_list("pk", "name"))


def service_names(ids: Iterable[int]) -> dict[int, str]:
    rows = (
        Service.objects.filter(pk__in=ids)
        .annotate(shown=localized_name())
        .values_list("pk", "shown", "code")
    )
    return {pk: f"{name} ({code})" for pk, name, code in rows}


def country_names(ids: Iterable[int]) -> dict[int, str]:
    return dict(
        Country.objects.filter(pk__in=ids)
        .annotate(shown=localized_name())
        .values_list("pk", "shown")
    )


def operator_names(ids: Iterable[int]) -> dict[int, str]:
    rows = (
        Operator.objects.filter(pk__in=ids)
        .annotate(shown=localized_name("country__"))
        .values_list("pk", "code", "shown")
    )
    return {pk: f"{code} ({country})" for pk, code, country in rows}


DIMENSIONS = {
    d.name: d
    for d in [
        Dimension("member", _("Member"), ("user_id",), (usernames,)),
        # Where routing sent the purchases (activations.routing), and what came of it.
        Dimension("provider", _("Provider"), ("provider_id",), (provider_names,)),
        Dimension("service", _("Service"), ("service_id",), (service_names,)),
        Dimension("country", _("Country"), ("country_id",), (country_names,)),
        Dimension("operator", _("Operator"), ("operator_id",), (operator_names,)),
        Dimension(
            "service_operator",
            _("Service through operator"),
            ("service_id", "operator_id"),
            (service_names, operator_names),
            # Translators: joins a service and an operator in a row label: "Telegram (tg)
            # through mts (Russia)"; keep the spaces around the word.
            joiner=pgettext_lazy("service through operator", " through "),
        ),
    ]
}


def keys_of(name: str) -> tuple[str, ...]:
    """The fields a breakdown groups by; none for the whole scope ("")."""
    return DIMENSIONS[name].keys if name else ()


@dataclass(frozen=True)
class Group:
    """One row of a breakdown: its key (the dimension's ids), its label and its aggregates."""

    key: tuple
    label: str
    values: dict


def breakdowns(
    scope: Scope,
    names: Iterable[str],
    aggregates: dict,
    total: bool = False,
    grain: str | None = None,
) -> tuple[dict[str, list[Group]], list[PeriodRow]]:
    """Each named breakdown's groups (with total, the whole scope's one under "") and, with a
    grain, the series of the scope: one pass on PostgreSQL (see ``engine.grouped_rows``)."""
    found = grouped_rows(scope, [DIMENSIONS[name] for name in names], aggregates, total, grain)
    series = series_of(scope, grain, found.pop("period")) if grain else []
    groups = {}
    for name, rows in found.items():
        keys = [tuple(row[k] for k in keys_of(name)) for row in rows]
        labels = DIMENSIONS[name].labels(keys) if name else {(): gettext(WHOLE_SCOPE)}
        groups[name] = [Group(key, labels[key], row) for key, row in zip(keys, rows, strict=True)]
    return groups, series
