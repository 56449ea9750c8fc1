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
