"""System checks (`manage.py check`, `check --deploy`) for settings Django cannot judge.

- sms_desk.E001: every FIELD_ENCRYPTION_KEYS entry is a Fernet key (the settings refuse to
  start otherwise; this catches a setting replaced after start-up, as tests and custom settings
  modules do).
- sms_desk.E002: provider calls made by web requests have a positive deadline (the purchase's
  reservation is sized on it: `activations.budgets.reservation_ttl`).
- sms_desk.E003: a provider gets at least one slot for web requests.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

from dashboard.encryption import key_problems

FERNET_HINT = (
    "Make a key with `python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'`; list keys newest first, comma-separated."
)


@register(Tags.security)
def check_field_encryption_keys(app_configs, **kwargs) -> list[Error]:
    return [
        Error(problem, hint=FERNET_HINT, id="sms_desk.E001")
        for problem in key_problems(settings.FIELD_ENCRYPTION_KEYS)
    ]


@register()
def check_provider_web_limits(app_configs, **kwargs) -> list[Error]:
    errors = []
    deadline = settings.PROVIDER_WEB_DEADLINE_SECONDS
    if deadline <= 0:
        errors.append(
            Error(
                f"PROVIDER_WEB_DEADLINE_SECONDS is {deadline:g}: a page's provider call needs "
                "some time to be answered.",
                hint="A few seconds (the default 5) is enough for an answering provider.",
                id="sms_desk.E002",
            )
        )
    if settings.PROVIDER_WEB_CONCURRENCY < 1:
        errors.append(
            Error(
                f"PROVIDER_WEB_CONCURRENCY is {settings.PROVIDER_WEB_CONCURRENCY}: with no "
                "slot, no web request could reach a provider.",
                hint="The default 2 suits the Procfile's 4 threads per process.",
                id="sms_desk.E003",
            )
        )
    return errors
