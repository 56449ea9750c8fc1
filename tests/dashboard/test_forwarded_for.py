"""Behind trusted proxies the client's address comes from X-Forwarded-For, else REMOTE_ADDR."""

from django.test import override_settings

from dashboard.models import AuditEvent


def invite(client, **headers):
    client.post(
        "/t/alices-team/settings/invite/", {"email": "d@example.org", "role": "member"}, **headers
    )
    return AuditEvent.objects.filter(action="member_invited").latest("pk").ip


def test_the_header_is_ignored_without_trusted_proxies(client, alice):
    client.force_login(alice)
    assert invite(client, HTTP_X_FORWARDED_FOR="203.0.113.9") == "127.0.0.1"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_one_proxy_gives_the_address_it_saw(client, alice):
    client.force_login(alice)
    ip = invite(client, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9", REMOTE_ADDR="10.0.0.5")
    assert ip == "203.0.113.9"  # the first entry was the client's own claim


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_a_short_header_leaves_remote_addr(client, alice):
    client.force_login(alice)
    assert invite(client, HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.5") == "10.0.0.5"
