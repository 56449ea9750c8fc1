"""The built-in sandbox provider that a fresh development install starts with."""

from catalog.models import Provider

SANDBOX_NAME = "Sandbox"
SANDBOX_PATH = "/sandbox/stubs/handler_api"
SANDBOX_RATE = 20.0


def ensure_sandbox_provider(base_url: str) -> Provider:
    """The sandbox provider served by this dashboard at `base_url`, created on first use.

    Running it again points the existing sandbox provider at `base_url` (the port may have
    changed) and leaves everything else the operator set in admin alone.
    """
    handler_url = base_url.rstrip("/") + SANDBOX_PATH
    provider = Provider.objects.filter(is_sandbox=True).order_by("pk").first()
    if provider is None:
        return Provider.objects.create(
            name=SANDBOX_NAME,
            handler_url=handler_url,
            max_requests_per_second=SANDBOX_RATE,
            is_sandbox=True,
        )
    if provider.handler_url != handler_url:
        provider.handler_url = handler_url
        provider.save(update_fields=["handler_url"])
    return provider
