"""System checks (`manage.py check`, `check --deploy`) for settings Django cannot judge.

- sms_desk.E001: every FIELD_ENCRYPTION_KEYS entry is a Fernet key (the settings refuse to
  start otherwise; this catches a setting replaced after start-up, as tests and custom settings
  modules do).
- sms_desk.E002: a purchase's reservation outlives the longest getNumber a web request can
  make, so the budget still counts the money while the provider is being asked.
- sms_desk.E003: a provider gets at least one slot for web requests.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

from activations.keys import key_problems

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
    from activations.provider_slots import SLOT_WAIT_SECONDS
    from activations.services import RESERVATION_TTL

    errors = []
    deadline = settings.PROVIDER_WEB_DEADLINE_SECONDS
    # The longest purchase call: the wait for a slot, then the deadline. Half the reservation's
    # lifetime is left for recording the number (and a slow database).
    longest = SLOT_WAIT_SECONDS + deadline
    lifetime = RESERVATION_TTL.total_seconds()
    if deadline <= 0 or longest > lifetime / 2:
        errors.append(
            Error(
                f"PROVIDER_WEB_DEADLINE_SECONDS is {deadline:g}: it must be positive and well "
                f"below the {lifetime:g} s a purchase's reservation counts against the budget "
                f"(at most {lifetime / 2 - SLOT_WAIT_SECONDS:g}).",
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
