"""Upgrading keeps what existing providers were called with."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0003_offer_browse_indexes")]
AFTER = [("catalog", "0004_provider_sync_settings_and_price_checks")]


@pytest.mark.django_db(transaction=True)
def test_existing_providers_keep_get_and_new_ones_get_post():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("catalog", "Provider")
    old.objects.create(name="Existing", handler_url="http://127.0.0.1:9/stubs/handler_api")

    executor = MigrationExecutor(connection)
    try:
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("catalog", "Provider")
        created = new.objects.create(name="New", handler_url="http://127.0.0.1:9/handler_api")

        assert new.objects.get(name="Existing").request_method == "GET"
        assert new.objects.get(pk=created.pk).request_method == "POST"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # as the other tests expect


NAMES_BEFORE = [("catalog", "0008_i18n_labels")]
NAMES_AFTER = [("catalog", "0009_names_in_both_languages")]


@pytest.mark.django_db(transaction=True)
def test_stored_names_become_the_name_in_their_providers_lang():
    executor = MigrationExecutor(connection)
    executor.migrate(NAMES_BEFORE)
    apps = executor.loader.project_state(NAMES_BEFORE).apps
    provider_model = apps.get_model("catalog", "Provider")
    ru = provider_model.objects.create(name="Ru", handler_url="http://127.0.0.1:9/a", lang="ru")
    sandbox = provider_model.objects.create(
        name="Sandbox", handler_url="http://127.0.0.1:9/b", lang="en", is_sandbox=True
    )
    apps.get_model("catalog", "Country").objects.create(provider=ru, external_id=0, name="Россия")
    apps.get_model("catalog", "Service").objects.create(
        provider=sandbox, code="tg", name="Telegram"
    )

    executor = MigrationExecutor(connection)
    try:
        executor.migrate(NAMES_AFTER)
        apps = executor.loader.project_state(NAMES_AFTER).apps
        country = apps.get_model("catalog", "Country").objects.get()
        service = apps.get_model("catalog", "Service").objects.get()
        providers = apps.get_model("catalog", "Provider").objects.order_by("name")

        assert (country.name, country.name_ru, country.name_en) == ("Россия", "Россия", "")
        assert (service.name, service.name_en, service.name_ru) == ("Telegram", "Telegram", "")
        assert [p.names_in_both_languages for p in providers] == [False, True]

        executor = MigrationExecutor(connection)
        executor.migrate(NAMES_BEFORE)  # reversible
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # as the other tests expect
