import pytest
from django.contrib.auth.models import User

from catalog.models import PriceChange, SyncRun


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


@pytest.mark.parametrize(
    "model", ["provider", "country", "operator", "service", "offer", "pricechange", "syncrun"]
)
def test_every_catalog_model_has_a_searchable_list(admin_client, provider, make_offer, model):
    offer = make_offer(provider, "tg")
    PriceChange.objects.create(offer=offer, price=offer.price)
    SyncRun.objects.create(provider=provider)
    response = admin_client.get(f"/admin/catalog/{model}/?q=tg")
    assert response.status_code == 200


def test_sync_runs_are_read_only(admin_client, provider):
    run = SyncRun.objects.create(provider=provider, errors=[{"error": "x"}])
    assert admin_client.get("/admin/catalog/syncrun/add/").status_code == 403
    response = admin_client.get(f"/admin/catalog/syncrun/{run.pk}/change/")
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert admin_client.post(f"/admin/catalog/syncrun/{run.pk}/delete/").status_code == 403
