"""`manage.py rotate_keys`: re-encrypt every stored provider key under the newest key.

Put the new Fernet key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run this,
then the old keys can be removed.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog.models import ProviderAccount
from dashboard.encryption import KeyDecryptionError, rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored provider key under the newest FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        rotated, failed = 0, []
        with transaction.atomic():
            accounts = ProviderAccount.objects.select_for_update().exclude(key_ciphertext="")
            for account in accounts.select_related("team", "provider"):
                try:
                    ciphertext = rotate(account.key_ciphertext)
                except KeyDecryptionError:
                    failed.append(f"{account.team} at {account.provider} (id {account.pk})")
                    continue
                ProviderAccount.objects.filter(pk=account.pk).update(key_ciphertext=ciphertext)
                rotated += 1
        self.stdout.write(f"Rotated {rotated} key(s) to the newest encryption key.")
        if failed:
            raise CommandError(
                f"{len(failed)} key(s) could not be decrypted with any FIELD_ENCRYPTION_KEYS "
                f"key and were left as they are: {'; '.join(failed)}. Attach them again."
            )
