import pytest

from activations.models import Reservation


@pytest.mark.parametrize(
    "model",
    [
        "catalog/provideraccount",
        "activations/activation",
        "activations/reservation",
        "dashboard/auditevent",
        "activations/workerheartbeat",
    ],
)
def test_every_model_an_activation_touches_has_an_admin_list(admin_client, model, make_activation):
    make_activation()
    assert admin_client.get(f"/admin/{model}/").status_code == 200


def test_an_activation_page_opens_and_shows_no_key(admin_client, make_activation):
    from tests.fixtures.activations import TEST_API_KEY

    activation = make_activation()
    for url in (
        f"/admin/activations/activation/{activation.pk}/change/",
        f"/admin/catalog/provideraccount/{activation.account_id}/change/",
        "/admin/catalog/provideraccount/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert TEST_API_KEY.encode() not in response.content
        assert activation.account.key_ciphertext.encode() not in response.content


def test_a_reservation_cannot_be_added_by_hand(admin_client, alice, alice_team):
    assert admin_client.get("/admin/activations/reservation/add/").status_code == 403
    assert not Reservation.objects.exists()
