"""Destructive actions ask first (dashboard.confirm), and what cannot apply is not offered.

Without JavaScript a destructive POST without `confirmed` is answered with a confirmation
page and changes nothing; the page's form (read here as a browser would submit it) acts.
The dialog that asks with JavaScript is tested in tests/e2e/test_confirm.py.
"""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client

from activations.buying import buy_number
from activations.models import Activation, PriceLimit
from catalog.models import ProviderAccount
from dashboard import tokens
from dashboard.models import AuditEvent, Invitation, Membership, Role
from tests.activations.acting import acting

SETTINGS = "/t/alices-team/settings/"


def confirmation_form(response) -> tuple[str, dict[str, str]]:
    """The action and fields of the confirmation page's form, as a browser would post them."""
    page = response.content.decode()
    form = re.search(
        r'<form method="post" action="([^"]+)" class="confirm-actions">(.*?)</form>', page, re.S
    )
    action = unescape(form.group(1))
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)
        )
    }
    return action, fields


def asks(response, message: str) -> None:
    assert response.status_code == 200
    assert "confirm.html" in [t.name for t in response.templates]
    page = unescape(response.content.decode())
    assert '<h1 id="confirm-heading">Are you sure?</h1>' in page
    assert message in page
    assert confirmation_form(response)[1]["confirmed"] == "1"


def confirm(client, response, **extra):
    action, fields = confirmation_form(response)
    return client.post(action, fields, follow=True, **extra)


@pytest.fixture
def signed_in_alice(client, alice):
    client.force_login(alice)
    return client


def test_cancel_asks_with_the_number_and_cancels_only_once_confirmed(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    bought = buy_number(
        acting=acting(alice_team, alice), offer=sandbox_offer, request_token="confirm-cancel"
    ).activation
    client.force_login(alice)
    url = f"/t/{alice_team.slug}/activations/{bought.pk}/"
    page = client.get(url).content.decode()
    assert f'data-confirm="Cancel +{bought.phone}? The number is released' in page

    response = client.post(f"{url}cancel/")
    asks(response, f"Cancel +{bought.phone}? The number is released")
    assert f'<a class="button" href="{url}">Keep</a>' in response.content.decode()
    bought.refresh_from_db()
    assert bought.state == Activation.State.WAITING

    done = confirm(client, response)
    assert b"Cancelled. It costs nothing" in done.content
    bought.refresh_from_db()
    assert bought.state == Activation.State.CANCELLED


def test_cancel_of_an_activation_that_can_no_longer_be_cancelled_does_not_ask(
    signed_in_alice, alice_team, make_activation
):
    done = make_activation(state=Activation.State.COMPLETED)
    response = signed_in_alice.post(
        f"/t/{alice_team.slug}/activations/{done.pk}/cancel/", follow=True
    )
    assert b'id="confirm-heading"' not in response.content
    assert response.redirect_chain  # back to the activation, with why not
    done.refresh_from_db()
    assert done.state == Activation.State.COMPLETED


def test_remove_key_asks_which_key(signed_in_alice, alice_team, sandbox_account):
    url = f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/remove/"
    response = signed_in_alice.post(url)
    asks(response, f"Remove the key {sandbox_account.masked_key} for Sandbox")
    assert ProviderAccount.objects.filter(pk=sandbox_account.pk).exists()
    assert confirm(signed_in_alice, response).status_code == 200
    assert not ProviderAccount.objects.filter(pk=sandbox_account.pk).exists()


def test_a_key_in_use_is_refused_without_asking(
    signed_in_alice, alice_team, alice_account, make_activation
):
    make_activation()
    url = f"/t/{alice_team.slug}/provider-accounts/{alice_account.pk}/remove/"
    response = signed_in_alice.post(url, follow=True)
    assert b"still open" in response.content
    assert b'id="confirm-heading"' not in response.content


def test_remove_price_limit_asks_and_repeats_the_service(signed_in_alice, alice_team):
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("1"))
    response = signed_in_alice.post(
        f"/t/{alice_team.slug}/routing/limits/remove/", {"service_code": "tg"}
    )
    asks(response, "Remove the highest price for tg?")
    assert confirmation_form(response)[1]["service_code"] == "tg"
    assert PriceLimit.objects.exists()
    assert b"tg has no highest price" in confirm(signed_in_alice, response).content
    assert not PriceLimit.objects.exists()


def test_remove_member_asks_who(signed_in_alice, bob):
    target = Membership.objects.get(user=bob)
    response = signed_in_alice.post(f"{SETTINGS}members/{target.pk}/remove/")
    asks(response, "Remove bob (member) from Alice's Team?")
    assert Membership.objects.filter(pk=target.pk).exists()
    confirm(signed_in_alice, response)
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_a_manager_removing_the_owner_is_refused_not_asked(client, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    client.force_login(bob)
    owner = Membership.objects.get(user=alice)
    assert client.post(f"{SETTINGS}members/{owner.pk}/remove/").status_code == 403


def test_revoke_invitation_asks_whose(signed_in_alice, alice, alice_team):
    invitation = Invitation.objects.create(team=alice_team, email="d@example.org", invited_by=alice)
    response = signed_in_alice.post(f"{SETTINGS}invitations/{invitation.pk}/revoke/")
    asks(response, "Revoke the invitation of d@example.org?")
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    confirm(signed_in_alice, response)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_leave_team_asks_and_leaves_once_confirmed(client, bob):
    client.force_login(bob)
    response = client.post(f"{SETTINGS}leave/")
    asks(response, "Leave Alice's Team? You lose access at once")
    assert Membership.objects.filter(user=bob).exists()
    assert not AuditEvent.objects.filter(action="member_left").exists()
    confirm(client, response)
    assert not Membership.objects.filter(user=bob).exists()


def test_revoke_token_asks_on_the_same_page_by_get_or_post(client, bob, alice_team):
    token = tokens.create_token(acting=acting(alice_team, bob), name="bobs bot").token
    client.force_login(bob)
    url = f"/t/{alice_team.slug}/api-access/{token.pk}/revoke/"
    list_page = client.get(f"/t/{alice_team.slug}/api-access/").content.decode()
    assert f'data-confirm="Revoke the token {token.label} of bob?' in unescape(list_page)
    for response in (client.get(url), client.post(url)):
        asks(response, f"Revoke the token {token.label} of bob? Programs that use it")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert b"revoked: it no longer works" in confirm(client, response).content
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_confirmation_keeps_csrf(alice, bob):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    browser.get(SETTINGS)
    token = browser.cookies["csrftoken"].value
    response = browser.post(f"{SETTINGS}leave/", {"csrfmiddlewaretoken": token})
    asks(response, "Leave Alice's Team?")
    action, fields = confirmation_form(response)
    fields.pop("csrfmiddlewaretoken")
    assert browser.post(action, fields).status_code == 403  # the page's own token is needed
    assert Membership.objects.filter(user=bob).exists()
    confirm(browser, response)
    assert not Membership.objects.filter(user=bob).exists()


# --- What is offered ------------------------------------------------------------------------


def test_the_only_owner_is_offered_neither_leave_nor_a_role_change(signed_in_alice, alice, bob):
    own = Membership.objects.get(user=alice)
    page = signed_in_alice.get(SETTINGS).content.decode()
    assert "You are the only owner: make someone else owner first." in page
    assert "Leave team</button>" not in page
    assert f'id="role-{own.pk}"' not in page
    assert f'id="role-{Membership.objects.get(user=bob).pk}"' in page  # others' roles: yes


def test_an_owner_beside_another_owner_may_leave_and_step_down(signed_in_alice, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    own = Membership.objects.get(user=alice)
    page = signed_in_alice.get(SETTINGS).content.decode()
    assert "only owner" not in page
    assert "Leave team</button>" in page
    assert f'id="role-{own.pk}"' in page


def test_a_manager_is_not_offered_to_revoke_an_owner_invitation(client, alice, bob, alice_team):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    for role in (Role.OWNER, Role.MEMBER):
        Invitation.objects.create(team=alice_team, email=f"{role}@example.org", role=role)
    client.force_login(bob)
    page = client.get(SETTINGS).content.decode()
    owner_row = page.split('id="invitation-')[1:]
    revoke_offered = {
        re.search(r"<td[^>]*>([^<]+@example.org)</td>", row).group(1): "Revoke</button>" in row
        for row in owner_row
    }
    assert revoke_offered == {"owner@example.org": False, "member@example.org": True}


def test_remove_is_not_offered_for_a_key_in_use(
    signed_in_alice, alice_team, alice_account, make_activation
):
    page = signed_in_alice.get(f"/t/{alice_team.slug}/provider-accounts/").content.decode()
    assert "Remove key</button>" in page
    make_activation()
    page = signed_in_alice.get(f"/t/{alice_team.slug}/provider-accounts/").content.decode()
    assert "Remove key</button>" not in page
    assert "1 activation(s) on this key are still open" in page
