from django.utils.module_loading import import_string
from django_q.models import Schedule

from dashboard.schedules import ensure_schedules

COUNTRIES = "catalog: countries and operators"
PRICES = "catalog: prices and stock"


def test_the_catalog_schedules_are_created_once(db, settings):
    settings.CATALOG_COUNTRIES_INTERVAL_MINUTES = 1440
    settings.CATALOG_PRICES_INTERVAL_MINUTES = 15
    ensure_schedules()
    ensure_schedules()
    countries = Schedule.objects.get(name=COUNTRIES)
    prices = Schedule.objects.get(name=PRICES)
    assert (countries.schedule_type, countries.minutes) == (Schedule.MINUTES, 1440)
    assert (prices.schedule_type, prices.minutes) == (Schedule.MINUTES, 15)
    assert countries.repeats == prices.repeats == -1
    assert callable(import_string(countries.func))
    assert callable(import_string(prices.func))


def test_the_intervals_follow_the_settings(db, settings):
    ensure_schedules()
    settings.CATALOG_PRICES_INTERVAL_MINUTES = 5
    ensure_schedules()
    assert Schedule.objects.filter(name=PRICES).count() == 1
    assert Schedule.objects.get(name=PRICES).minutes == 5
