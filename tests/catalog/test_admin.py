import pytest
from django.contrib.auth.models import User

from catalog.models import PriceChange, Provider, ProviderAccount, SyncRun


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


def test_the_provider_form_offers_the_method_and_only_its_own_accounts(
    admin_client, provider, alice_team, charlie
):
    other = Provider.objects.create(name="Other", handler_url="http://127.0.0.1:9/other")
    own = ProviderAccount.objects.create(
        team=alice_team, provider=provider, key_ciphertext="x", key_last4="1111"
    )
    foreign = ProviderAccount.objects.create(
        team=charlie.memberships.get().team, provider=other, key_ciphertext="x", key_last4="2222"
    )
    url = f"/admin/catalog/provider/{provider.pk}/change/"

    page = admin_client.get(url).content.decode()
    assert 'name="request_method"' in page
    assert f'<option value="{own.pk}">' in page
    assert f'<option value="{foreign.pk}">' not in page

    form = {
        "name": provider.name,
        "handler_url": provider.handler_url,
        "lang": "en",
        "request_method": "GET",
        "max_requests_per_second": "5",
        "enabled": "on",
        "created_at_0": "2026-01-01",
        "created_at_1": "00:00:00",
        "sync_account": foreign.pk,
    }
    assert admin_client.post(url, form).status_code == 200  # the form again, with the error
    provider.refresh_from_db()
    assert provider.sync_account is None
    assert admin_client.post(url, form | {"sync_account": own.pk}).status_code == 302
    provider.refresh_from_db()
    assert (provider.sync_account, provider.request_method) == (own, "GET")


def test_a_new_provider_defaults_to_post(admin_client):
    page = admin_client.get("/admin/catalog/provider/add/").content.decode()
    assert '<option value="POST" selected>' in page
