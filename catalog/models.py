"""What each provider sells: countries, operators, services and the offer (price, stock) for
every (country, operator, service), plus a short price history, a record of every sync, and
each team's account (encrypted key) at a provider."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.names import shown_name
from dashboard.models import Currency, Team


class Provider(models.Model):
    """An upstream speaking the handler_api protocol; managed by the operator in admin."""

    class Lang(models.TextChoices):
        EN = "en", "English"
        RU = "ru", "Russian"

    class Method(models.TextChoices):
        POST = "POST", "POST (key in the request body)"
        GET = "GET", "GET (key in the URL)"

    name = models.CharField(max_length=100, unique=True)
    handler_url = models.URLField(
        max_length=300, help_text="Full handler address, e.g. https://host/stubs/handler_api"
    )
    lang = models.CharField(max_length=2, choices=Lang.choices, default=Lang.EN)
    names_in_both_languages = models.BooleanField(
        _("names in both languages"),
        default=False,
        help_text=_(
            "Each sync also asks for the names of countries and services in the other "
            "language (names only: prices and stock always come in this provider's lang), "
            "so that Russian and English users each read names in their language."
        ),
    )
    request_method = models.CharField(
        max_length=4,
        choices=Method.choices,
        default=Method.POST,
        help_text="POST keeps the API key out of URLs, so out of provider and proxy access "
        "logs; choose GET only for a provider that refuses POST.",
    )
    max_requests_per_second = models.FloatField(
        default=5.0, help_text="Shared by user actions, the poller and the catalog sync."
    )
    enabled = models.BooleanField(default=True)
    is_sandbox = models.BooleanField(
        default=False, help_text="The built-in sandbox provider (development and demos)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    sync_account = models.ForeignKey(
        "ProviderAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose key the catalog sync lists prices with. Empty: the sandbox's own key "
        "for the sandbox, else the account attached first.",
    )
    # The catalog sync's claim: a sync runs only after setting this with a conditional UPDATE,
    # so a second one exits at once; a crashed sync's claim goes stale at this time.
    sync_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Set (the same way) when "Sync now" queues a sync and cleared when a sync starts, so that
    # presses meanwhile queue nothing more; a lost task's mark goes stale at this time.
    sync_queued_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def currency(self) -> str:
        """What its prices and balances are in: the protocol's `lang` chooses."""
        return Currency.RUB if self.lang == self.Lang.RU else Currency.USD

    def clean(self) -> None:
        if self.sync_account is not None and self.sync_account.provider_id != self.pk:
            raise ValidationError(
                {"sync_account": "Choose an account at this provider."}, code="other_provider"
            )


class Country(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="countries")
    external_id = models.IntegerField(help_text="The provider's country id.")
    name = models.CharField(max_length=100)  # in the provider's lang
    name_en = models.CharField(_("name in English"), max_length=100, blank=True, default="")
    name_ru = models.CharField(_("name in Russian"), max_length=100, blank=True, default="")
    available = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="one_country_per_provider_id"
            )
        ]

    def __str__(self) -> str:
        return self.shown_name

    @property
    def shown_name(self) -> str:
        """The name in the current language, else the provider's."""
        return shown_name(self)


class Operator(models.Model):
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="operators")
    code = models.CharField(max_length=64, help_text="The provider's operator id, e.g. 'any'.")
    available = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="one_operator_per_country")
        ]

    def __str__(self) -> str:
        return self.code


class Service(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="services")
    code = models.CharField(max_length=32, help_text="The provider's service id, e.g. 'tg'.")
    name = models.CharField(max_length=200)  # in the provider's lang
    name_en = models.CharField(_("name in English"), max_length=200, blank=True, default="")
    name_ru = models.CharField(_("name in Russian"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="one_service_per_provider")
        ]

    def __str__(self) -> str:
        return f"{self.shown_name} ({self.code})"

    @property
    def shown_name(self) -> str:
        """The name in the current language, else the provider's."""
        return shown_name(self)


class Offer(models.Model):
    """The current price and stock of one service through one operator of one country."""

    # No index of their own for provider, operator and service: each leads a composite
    # index below (offer_provider_available, one_offer_per_operator_service,
    # offer_service_price), and every index costs the sync's write of a full catalog.
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="offers", db_index=False
    )
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="offers")
    operator = models.ForeignKey(
        Operator, on_delete=models.CASCADE, related_name="offers", db_index=False
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="offers", db_index=False
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(default=0)
    available = models.BooleanField(
        default=True, help_text="False once the provider stopped listing it (kept for history)."
    )
    last_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["price"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "service"], name="one_offer_per_operator_service"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="offer_price_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["service", "price"], name="offer_service_price"),
            models.Index(fields=["provider", "available"], name="offer_provider_available"),
            # The catalog's orders (catalog.forms.SORTS) of the offers in stock, across
            # providers: a page is found by reading offers in that order up to it
            # (catalog.queries.catalog_page), so an index in that order spares grouping or
            # sorting every offer for each page.
            models.Index(
                fields=["price", "-quantity", "id"],
                condition=models.Q(available=True, quantity__gt=0),
                name="offer_catalog_by_price",
            ),
            models.Index(
                fields=["-quantity", "price", "id"],
                condition=models.Q(available=True, quantity__gt=0),
                name="offer_catalog_by_stock",
            ),
            models.Index(
                fields=["quantity", "price", "id"],
                condition=models.Q(available=True, quantity__gt=0),
                name="offer_catalog_by_least_stock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} {self.country} {self.operator}: {self.price}"


class PriceChange(models.Model):
    """One row each time an offer's price changes (the trend in catalog and reports)."""

    # Indexed by pricechange_offer_time, which it leads.
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="price_changes", db_index=False
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["offer", "recorded_at"], name="pricechange_offer_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="pricechange_price_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.price} at {self.recorded_at:%Y-%m-%d %H:%M}"


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        COUNTRIES = "countries", "Countries and operators"
        PRICES = "prices", "Prices and stock"
        FULL = "full", "Countries and prices"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FULL)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    calls = models.PositiveIntegerField(default=0)
    countries = models.PositiveIntegerField(default=0)
    operators = models.PositiveIntegerField(default=0)
    services = models.PositiveIntegerField(default=0)
    offers = models.PositiveIntegerField(default=0)
    offers_changed = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} sync at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def partly_failed(self) -> bool:
        """Errors, but the rest was stored: the page says what it could not read."""
        stored = self.countries if self.kind == self.Kind.COUNTRIES else self.offers
        return self.error_count > 0 and stored > 0


class ProviderAccount(models.Model):
    """A team's API key for one provider. The key is stored only as MultiFernet ciphertext."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="provider_accounts")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="accounts")
    key_ciphertext = models.TextField(editable=False)
    key_last4 = models.CharField(max_length=4, editable=False)
    balance = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    balance_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Poller counters (status polls that change nothing are counted here, not logged).
    polls = models.PositiveBigIntegerField(default=0)
    poll_changes = models.PositiveBigIntegerField(default=0)
    poll_errors = models.PositiveBigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "activations_provideraccount"  # moved from activations (issue 13)
        ordering = ["team", "provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "provider"], name="one_account_per_team_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} at {self.provider} (key …{self.key_last4})"

    @property
    def masked_key(self) -> str:
        return f"••••{self.key_last4}" if self.key_last4 else ""

    @property
    def has_key(self) -> bool:
        """False after the key was removed (past activations keep the account row)."""
        return bool(self.key_ciphertext)
