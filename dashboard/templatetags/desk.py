"""Template filters for amounts and times: `{{ price|money:provider.currency }}`,
`{{ when|moment }}` (relative, exact on hover) and `{{ when|exact_time }}`; see
dashboard/display.py."""

from datetime import datetime

from django import template
from django.utils.html import format_html

from dashboard import display

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    return display.money(amount, currency)


@register.filter
def moment(value: datetime | None) -> str:
    """<time> reading "3 min ago", with the exact time and its zone as its title."""
    if value is None:
        return display.NOTHING
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        display.exact(value),
        display.relative(value),
    )


@register.filter
def exact_time(value: datetime | None) -> str:
    if value is None:
        return display.NOTHING
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), display.exact(value))
