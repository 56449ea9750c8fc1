import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Provider
from tests.fixtures.catalog import seed_pairs

LINE = re.compile(
    r"^Sandbox: countries=1 operators=2 services=224 offers=448 calls=2 errors=0 "
    r"seconds=\d+\.\d$"
)


def sync_catalog(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_catalog", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_one_summary_line_per_provider(catalog_sandbox):
    seed_pairs(catalog_sandbox, {0: ["any", "tinkoff"]})
    out, err = sync_catalog("--kind", "prices")
    assert LINE.match(out.strip()), out
    assert err == ""


def test_it_syncs_only_the_named_provider(catalog_sandbox, provider):
    seed_pairs(catalog_sandbox, {0: ["any", "tinkoff"]})
    out, _ = sync_catalog("--provider", "Sandbox", "--kind", "prices")
    assert len(out.splitlines()) == 1
    assert LINE.match(out.strip()), out


def test_it_reports_errors_on_stderr(provider):
    out, err = sync_catalog("--provider", provider.name)
    assert out.startswith("Acme SMS: countries=0 operators=0 ")
    assert "errors=1 " in out
    assert "No team has attached a usable API key for Acme SMS" in err


def test_an_unknown_provider_is_an_error(db):
    with pytest.raises(CommandError, match="No provider named 'Nope'"):
        sync_catalog("--provider", "Nope")


def test_it_skips_a_provider_whose_sync_is_running(provider):
    Provider.objects.filter(pk=provider.pk).update(
        sync_claimed_until=timezone.now() + timedelta(minutes=1)
    )
    out, _ = sync_catalog()
    assert out == "Acme SMS: skipped, another sync is running\n"
