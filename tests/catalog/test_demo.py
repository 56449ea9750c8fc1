from catalog.demo import ensure_demo_account, ensure_sandbox_provider
from catalog.models import Provider
from dashboard.encryption import decrypt_key


def test_it_creates_the_sandbox_provider_once(db):
    first = ensure_sandbox_provider("http://127.0.0.1:8000/")
    again = ensure_sandbox_provider("http://127.0.0.1:8000")
    assert first.pk == again.pk
    assert Provider.objects.count() == 1
    assert first.handler_url == "http://127.0.0.1:8000/sandbox/stubs/handler_api"
    assert first.is_sandbox
    assert first.enabled


def test_it_follows_a_new_address_and_keeps_the_operators_settings(db):
    provider = ensure_sandbox_provider("http://127.0.0.1:8000")
    Provider.objects.filter(pk=provider.pk).update(name="My sandbox", max_requests_per_second=3)
    provider = ensure_sandbox_provider("http://localhost:9000")
    assert provider.handler_url == "http://localhost:9000/sandbox/stubs/handler_api"
    assert (provider.name, provider.max_requests_per_second) == ("My sandbox", 3)


def test_the_demo_team_gets_the_sandbox_key_once(settings, alice_team, act_provider):
    settings.SANDBOX = True
    settings.SANDBOX_API_KEY = "demo-sandbox-key-1234"
    account = ensure_demo_account(alice_team, act_provider)
    again = ensure_demo_account(alice_team, act_provider)
    assert account.pk == again.pk
    assert decrypt_key(again.key_ciphertext) == "demo-sandbox-key-1234"
    assert again.key_last4 == "1234"


def test_a_changed_sandbox_key_replaces_the_old_one(settings, alice_team, act_provider):
    settings.SANDBOX = True
    settings.SANDBOX_API_KEY = "first-key-0000"
    ensure_demo_account(alice_team, act_provider)
    settings.SANDBOX_API_KEY = "second-key-1111"
    account = ensure_demo_account(alice_team, act_provider)
    assert decrypt_key(account.key_ciphertext) == "second-key-1111"


def test_nothing_happens_without_sandbox_mode(settings, alice_team, act_provider):
    settings.SANDBOX = False
    assert ensure_demo_account(alice_team, act_provider) is None


def test_setup_demo_gives_the_demo_team_the_sandbox_key(settings, db):
    from io import StringIO

    from django.core.management import call_command

    from catalog.models import ProviderAccount

    settings.SANDBOX = True
    settings.SANDBOX_API_KEY = "setup-demo-key-5678"
    call_command("setup_demo", stdout=StringIO())
    call_command("setup_demo", stdout=StringIO())
    account = ProviderAccount.objects.get(team__slug="demo")
    assert account.provider.is_sandbox
    assert decrypt_key(account.key_ciphertext) == "setup-demo-key-5678"
