from catalog import tasks
from catalog.models import Provider, SyncRun
from catalog.sync import run as sync_run
from tests.fixtures.catalog import seed_pairs


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


def other_providers(count: int) -> list[Provider]:
    return [
        Provider.objects.create(name=f"Other {n}", handler_url=f"http://127.0.0.1:9/{n}")
        for n in range(count)
    ]


def test_the_prices_job_queues_no_second_sync_of_a_provider_still_queued(provider, queued):
    others = other_providers(2)
    assert tasks.sync_all_prices() == 3
    assert tasks.sync_all_prices() == 0  # the three tasks have not started yet
    assert sorted(queued) == sorted(
        (tasks.SYNC_TASK, (p.pk, "prices")) for p in [provider, *others]
    )


def test_a_sync_outlasting_the_interval_is_not_queued_behind_itself(
    catalog_sandbox, queued, monkeypatch
):
    """Three providers; the prices job fires again while the sandbox's sync is writing."""
    other_providers(2)
    seed_pairs(catalog_sandbox, {0: ["any"]})
    assert tasks.sync_all_prices() == 3
    fired = []
    store_offers = sync_run.store_offers

    def store_while_the_job_fires(*args, **kwargs):
        fired.append(tasks.sync_all_prices())
        return store_offers(*args, **kwargs)

    monkeypatch.setattr(sync_run, "store_offers", store_while_the_job_fires)
    assert tasks.sync_provider_catalog(catalog_sandbox.pk, "prices").startswith("countries=1")
    assert fired == [0]  # the sandbox's sync running, the two others still queued
    assert tasks.sync_all_prices() == 1  # the sandbox's ended: its next one is queued
    assert queued[-1] == (tasks.SYNC_TASK, (catalog_sandbox.pk, "prices"))
    assert len(queued) == 4


def test_sync_now_and_the_prices_job_share_one_queued_sync(provider, queued):
    assert tasks.request_sync(provider)
    assert tasks.sync_all_prices() == 0
    assert not tasks.request_sync(provider)
    assert queued == [(tasks.SYNC_TASK, (provider.pk, "full"))]


def test_a_task_of_a_provider_disabled_meanwhile_keeps_no_sync_queued(provider, queued):
    assert tasks.sync_all_prices() == 1
    Provider.objects.filter(pk=provider.pk).update(enabled=False)
    assert tasks.sync_provider_catalog(provider.pk, "prices").startswith("skipped")
    Provider.objects.filter(pk=provider.pk).update(enabled=True)
    assert tasks.sync_all_prices() == 1
