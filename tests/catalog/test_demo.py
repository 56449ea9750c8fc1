from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command
from django_q.models import OrmQ

from catalog.demo import ensure_demo_account, ensure_sandbox_providers
from catalog.models import Provider, ProviderAccount
from dashboard.encryption import decrypt_key

HANDLER = "/sandbox/stubs/handler_api"
HANDLER_B = "/sandbox/b/stubs/handler_api"


def test_it_creates_the_sandbox_providers_once(db):
    first = ensure_sandbox_providers("http://127.0.0.1:8000/")
    again = ensure_sandbox_providers("http://127.0.0.1:8000")
    assert [p.pk for p in first] == [p.pk for p in again]
    assert Provider.objects.count() == 2
    assert [(p.name, p.handler_url) for p in again] == [
        ("Sandbox", "http://127.0.0.1:8000" + HANDLER),
        ("Sandbox B", "http://127.0.0.1:8000" + HANDLER_B),
    ]
    assert all(p.is_sandbox and p.enabled for p in again)


def test_they_follow_a_new_address_and_keep_the_operators_settings(db):
    sandbox, sandbox_b = ensure_sandbox_providers("http://127.0.0.1:8000")
    Provider.objects.filter(pk=sandbox.pk).update(name="My sandbox", max_requests_per_second=3)
    Provider.objects.filter(pk=sandbox_b.pk).update(name="Cheap one", enabled=False)
    sandbox, sandbox_b = ensure_sandbox_providers("http://localhost:9000")
    assert sandbox.handler_url == "http://localhost:9000" + HANDLER
    assert (sandbox.name, sandbox.max_requests_per_second) == ("My sandbox", 3)
    assert sandbox_b.handler_url == "http://localhost:9000" + HANDLER_B
    assert (sandbox_b.name, sandbox_b.enabled) == ("Cheap one", False)
    assert Provider.objects.count() == 2


def test_an_install_from_before_keeps_its_one_sandbox_provider(db):
    """Its sandbox provider, pointed elsewhere (a sandbox_provider on its own port), is adopted
    by the first mount; the second is new."""
    old = Provider.objects.create(
        name="Sandbox", handler_url="http://127.0.0.1:8001/stubs/handler_api", is_sandbox=True
    )
    sandbox, sandbox_b = ensure_sandbox_providers("http://127.0.0.1:8000")
    assert sandbox.pk == old.pk
    assert sandbox.handler_url == "http://127.0.0.1:8000" + HANDLER
    assert sandbox_b.pk != old.pk and sandbox_b.name == "Sandbox B"


def test_other_providers_are_left_alone(db, act_provider):
    ensure_sandbox_providers("http://127.0.0.1:8000")
    act_provider.refresh_from_db()
    assert not act_provider.is_sandbox
    assert act_provider.handler_url.endswith("/stubs/handler_api")
    assert Provider.objects.filter(is_sandbox=True).count() == 2


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


def test_setup_demo_keys_the_demo_team_at_both_sandboxes(settings, db):
    settings.SANDBOX = True
    settings.SANDBOX_API_KEY = "setup-demo-key-5678"
    out = StringIO()
    call_command("setup_demo", stdout=out)
    call_command("setup_demo", "--base-url", "http://127.0.0.1:8123", stdout=StringIO())
    accounts = ProviderAccount.objects.filter(team__slug="demo").order_by("provider__pk")
    assert [a.provider.name for a in accounts] == ["Sandbox", "Sandbox B"]
    assert all(a.provider.is_sandbox for a in accounts)
    assert {decrypt_key(a.key_ciphertext) for a in accounts} == {"setup-demo-key-5678"}
    assert [a.provider.handler_url for a in accounts] == [
        "http://127.0.0.1:8123" + HANDLER,
        "http://127.0.0.1:8123" + HANDLER_B,
    ]
    assert "Sandbox B" in out.getvalue() and HANDLER_B in out.getvalue()
    assert "setup-demo-key-5678" not in out.getvalue()


def test_setup_demo_keeps_an_existing_installs_sandbox_and_key(settings, db):
    settings.SANDBOX = True
    settings.SANDBOX_API_KEY = "setup-demo-key-5678"
    markets = settings.SANDBOX_MARKETS
    settings.SANDBOX_MARKETS = markets[:1]  # an install from before the second sandbox
    call_command("setup_demo", stdout=StringIO())
    account = ProviderAccount.objects.get(team__slug="demo")
    settings.SANDBOX_MARKETS = markets
    call_command("setup_demo", "--base-url", "http://localhost:9000", stdout=StringIO())
    kept = ProviderAccount.objects.get(pk=account.pk)
    assert (kept.provider_id, kept.key_ciphertext) == (account.provider_id, account.key_ciphertext)
    assert kept.provider.handler_url == "http://localhost:9000" + HANDLER
    names = ProviderAccount.objects.filter(team__slug="demo").values_list("provider__name")
    assert sorted(names) == [("Sandbox",), ("Sandbox B",)]


def test_setup_demo_leaves_a_team_key_that_still_works_alone(settings, db):
    """A demo account already holding the sandbox key is not rewritten (its ciphertext and
    update time stay)."""
    settings.SANDBOX = True
    settings.SANDBOX_API_KEY = "setup-demo-key-5678"
    call_command("setup_demo", stdout=StringIO())
    before = {
        a.pk: (a.key_ciphertext, a.updated_at)
        for a in ProviderAccount.objects.filter(team__slug="demo")
    }
    call_command("setup_demo", stdout=StringIO())
    after = {
        a.pk: (a.key_ciphertext, a.updated_at)
        for a in ProviderAccount.objects.filter(team__slug="demo")
    }
    assert after == before


def test_setup_demo_queues_the_first_sync_once_so_the_catalog_shows_it_on_its_way(
    settings, db, client
):
    settings.SANDBOX = True
    out = StringIO()
    call_command("setup_demo", stdout=out)
    assert "First catalog sync queued for Sandbox, Sandbox B" in out.getvalue()
    assert OrmQ.objects.count() == 2
    # Run again (another `make run`): the syncs are queued already, nothing more is.
    again = StringIO()
    call_command("setup_demo", stdout=again)
    assert "First catalog sync queued" not in again.getvalue()
    assert OrmQ.objects.count() == 2
    client.force_login(User.objects.get(username="demo"))
    body = client.get("/t/demo/catalog/").content.decode()
    assert "The catalog is on its way: first sync queued" in body
