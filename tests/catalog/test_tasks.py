import pytest

from catalog import tasks
from catalog.models import Provider, SyncRun
from tests.fixtures.catalog import seed_pairs


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "async_task", lambda func, *args, **kw: calls.append((func, args)))
    return calls


def test_the_task_syncs_a_provider_by_id(catalog_sandbox):
    seed_pairs(catalog_sandbox, {0: ["any"]})
    result = tasks.sync_provider_catalog(catalog_sandbox.pk, "prices")
    assert result.startswith("countries=1 operators=1 services=224 offers=224 calls=1 errors=0")
    assert SyncRun.objects.get().kind == "prices"


def test_the_task_skips_a_disabled_provider(provider):
    provider.enabled = False
    provider.save()
    assert tasks.sync_provider_catalog(provider.pk).startswith("skipped")
    assert not SyncRun.objects.exists()


def test_the_schedules_queue_one_task_per_enabled_provider(provider, queued):
    other = Provider.objects.create(name="Other", handler_url="http://127.0.0.1:9/x")
    Provider.objects.create(name="Off", handler_url="http://127.0.0.1:9/y", enabled=False)
    assert tasks.sync_all_prices() == 2
    assert tasks.sync_all_countries() == 2
    assert sorted(queued) == sorted(
        [
            (tasks.SYNC_TASK, (provider.pk, "prices")),
            (tasks.SYNC_TASK, (other.pk, "prices")),
            (tasks.SYNC_TASK, (provider.pk, "countries")),
            (tasks.SYNC_TASK, (other.pk, "countries")),
        ]
    )


def test_task_arguments_hold_no_key(catalog_sandbox, queued, sandbox_server):
    tasks.queue_sync(catalog_sandbox)
    assert sandbox_server.api_key not in repr(queued)
