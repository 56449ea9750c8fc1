"""System checks (`manage.py check`, `check --deploy`) for settings Django cannot judge.

- sms_desk.E001: every FIELD_ENCRYPTION_KEYS entry is a Fernet key (the settings refuse to
  start otherwise; this catches a setting replaced after start-up, as tests and custom settings
  modules do).
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
