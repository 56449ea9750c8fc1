from catalog.demo import ensure_sandbox_provider
from catalog.models import Provider


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
