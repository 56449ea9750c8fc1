"""What each provider sells: countries, operators, services and the offer (price, stock) for
every (country, operator, service), plus a short price history, a record of every sync, and
each team's account (encrypted key) at a provider."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.names import shown_name
from dashboard.models import Currency, Team


class Provider(models.Model):
    """An upstream speaking the handler_api protocol; managed by the operator in admin."""

    class Lang(models.TextChoices):
        EN = "en", _("English")
        RU = "ru", _("Russian")

    class Method(models.TextChoices):
        POST = "POST", _("POST (key in the request body)")
        GET = "GET", _("GET (key in the URL)")

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    handler_url = models.URLField(
        max_length=300,
        help_text=_("Full handler address, e.g. https://host/stubs/handler_api"),
        verbose_name=_("handler url"),
    )
    lang = models.CharField(
        max_length=2, choices=Lang.choices, default=Lang.EN, verbose_name=_("lang")
    )
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
        help_text=_(
            "POST keeps the API key out of URLs, so out of provider and proxy access "
            "logs; choose GET only for a provider that refuses POST."
        ),
        verbose_name=_("request method"),
    )
    max_requests_per_second = models.FloatField(
        default=5.0,
        help_text=_("Shared by user actions, the poller and the catalog sync."),
        verbose_name=_("max requests per second"),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    is_sandbox = models.BooleanField(
        default=False,
        help_text=_("The built-in sandbox provider (development and demos)."),
        verbose_name=_("is sandbox"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    sync_account = models.ForeignKey(
        "ProviderAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "Whose key the catalog sync lists prices with. Empty: the sandbox's own key "
            "for the sandbox, else the account attached first."
        ),
        verbose_name=_("sync account"),
    )
    # The catalog sync's claim: a sync runs only after setting this with a conditional UPDATE,
    # so a second one exits at once; a crashed sync's claim goes stale at this time.
    sync_claimed_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("sync claimed until")
    )
    # Set (the same way) when "Sync now" queues a sync and cleared when a sync starts, so that
    # presses meanwhile queue nothing more; a lost task's mark goes stale at this time.
    sync_queued_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("sync queued until")
    )

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
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
                {"sync_account": _("Choose an account at this provider.")}, code="other_provider"
            )


class Country(models.Model):
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="countries", verbose_name=_("provider")
    )
    external_id = models.IntegerField(
        help_text=_("The provider's country id."), verbose_name=_("external id")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))  # in the provider's lang
    name_en = models.CharField(_("name in English"), max_length=100, blank=True, default="")
    name_ru = models.CharField(_("name in Russian"), max_length=100, blank=True, default="")
    available = models.BooleanField(default=True, verbose_name=_("available"))
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["name"]
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
    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="operators", verbose_name=_("country")
    )
    code = models.CharField(
        max_length=64,
        help_text=_("The provider's operator id, e.g. 'any'."),
        verbose_name=_("code"),
    )
    available = models.BooleanField(default=True, verbose_name=_("available"))
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="one_operator_per_country")
        ]

    def __str__(self) -> str:
        return self.code


class Service(models.Model):
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="services", verbose_name=_("provider")
    )
    code = models.CharField(
        max_length=32, help_text=_("The provider's service id, e.g. 'tg'."), verbose_name=_("code")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))  # in the provider's lang
    name_en = models.CharField(_("name in English"), max_length=200, blank=True, default="")
    name_ru = models.CharField(_("name in Russian"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
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
        Provider,
        on_delete=models.CASCADE,
        related_name="offers",
        db_index=False,
        verbose_name=_("provider"),
    )
    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="offers", verbose_name=_("country")
    )
    operator = models.ForeignKey(
        Operator,
        on_delete=models.CASCADE,
        related_name="offers",
        db_index=False,
        verbose_name=_("operator"),
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        related_name="offers",
        db_index=False,
        verbose_name=_("service"),
    )
    price = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("price"))
    quantity = models.PositiveIntegerField(default=0, verbose_name=_("quantity"))
    available = models.BooleanField(
        default=True,
        help_text=_("False once the provider stopped listing it (kept for history)."),
        verbose_name=_("available"),
    )
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
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
        Offer,
        on_delete=models.CASCADE,
        related_name="price_changes",
        db_index=False,
        verbose_name=_("offer"),
    )
    price = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("price"))
    recorded_at = models.DateTimeField(default=timezone.now, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("price change")
        verbose_name_plural = _("price changes")
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
        COUNTRIES = "countries", _("Countries and operators")
        PRICES = "prices", _("Prices and stock")
        FULL = "full", _("Countries and prices")

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="sync_runs", verbose_name=_("provider")
    )
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.FULL, verbose_name=_("kind")
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    calls = models.PositiveIntegerField(default=0, verbose_name=_("calls"))
    countries = models.PositiveIntegerField(default=0, verbose_name=_("countries"))
    operators = models.PositiveIntegerField(default=0, verbose_name=_("operators"))
    services = models.PositiveIntegerField(default=0, verbose_name=_("services"))
    offers = models.PositiveIntegerField(default=0, verbose_name=_("offers"))
    offers_changed = models.PositiveIntegerField(default=0, verbose_name=_("offers changed"))
    error_count = models.PositiveIntegerField(default=0, verbose_name=_("error count"))
    errors = models.JSONField(default=list, blank=True, verbose_name=_("errors"))

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return gettext("%(provider)s: %(kind)s sync at %(time)s") % {
            "provider": self.provider,
            "kind": self.get_kind_display(),
            "time": f"{self.started_at:%Y-%m-%d %H:%M}",
        }

    @property
    def partly_failed(self) -> bool:
        """Errors, but the rest was stored: the page says what it could not read."""
        stored = self.countries if self.kind == self.Kind.COUNTRIES else self.offers
        return self.error_count > 0 and stored > 0


class ProviderAccount(models.Model):
    """A team's API key for one provider. The key is stored only as MultiFernet ciphertext."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="provider_accounts", verbose_name=_("team")
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("provider")
    )
    key_ciphertext = models.TextField(editable=False)
    key_last4 = models.CharField(max_length=4, editable=False)
    balance = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, verbose_name=_("balance")
    )
    balance_checked_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("balance checked at")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    # Poller counters (status polls that change nothing are counted here, not logged).
    polls = models.PositiveBigIntegerField(default=0, verbose_name=_("polls"))
    poll_changes = models.PositiveBigIntegerField(default=0, verbose_name=_("poll changes"))
    poll_errors = models.PositiveBigIntegerField(default=0, verbose_name=_("poll errors"))
    last_polled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last polled at"))

    class Meta:
        verbose_name = _("provider account")
        verbose_name_plural = _("provider accounts")
        db_table = "activations_provideraccount"  # moved from activations (issue 13)
        ordering = ["team", "provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "provider"], name="one_account_per_team_provider"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(team)s at %(provider)s (key …%(last4)s)") % {
            "team": self.team,
            "provider": self.provider,
            "last4": self.key_last4,
        }

    @property
    def masked_key(self) -> str:
        return f"••••{self.key_last4}" if self.key_last4 else ""

    @property
    def has_key(self) -> bool:
        """False after the key was removed (past activations keep the account row)."""
        return bool(self.key_ciphertext)
