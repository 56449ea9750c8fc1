"""A team's activations, the reservations that hold budget while a purchase is in flight, and
the background loops' heartbeats."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Country, Operator, Provider, ProviderAccount, Service
from dashboard.models import ApiToken, Team


class Activation(models.Model):
    """A number bought for one service; receives one or more codes."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for code")
        CODE_RECEIVED = "code_received", _("Code received")
        WAITING_RETRY = "waiting_retry", _("Waiting for another code")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    OPEN_STATES = frozenset({State.WAITING, State.CODE_RECEIVED, State.WAITING_RETRY})
    FREE_STATES = frozenset({State.CANCELLED, State.EXPIRED})  # these cost nothing

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="activations", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="activations",
        verbose_name=_("user"),
    )
    account = models.ForeignKey(
        ProviderAccount,
        on_delete=models.PROTECT,
        related_name="activations",
        verbose_name=_("account"),
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="activations", verbose_name=_("provider")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="activations", verbose_name=_("service")
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="activations", verbose_name=_("country")
    )
    operator = models.ForeignKey(
        Operator, on_delete=models.PROTECT, related_name="activations", verbose_name=_("operator")
    )
    phone = models.CharField(_("phone"), max_length=32)
    provider_activation_id = models.CharField(_("provider activation id"), max_length=64)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.WAITING
    )
    codes = models.JSONField(_("codes"), default=list, blank=True)
    # NULL, not "", when there is no token: the unique constraint must not clash on blanks.
    request_token = models.CharField(  # noqa: DJ001
        _("request token"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("The buy form's token (double submits)."),
    )
    api_token = models.ForeignKey(
        ApiToken,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activations",
        verbose_name=_("API token"),
        help_text=_("The personal token it was bought through; empty when bought in the browser."),
    )
    # How routing chose this number: the policy, and each provider tried before the one
    # that sold it with its answer ({"policy": "cheapest", "tried": [{"provider": ..., ...}]}).
    route = models.JSONField(_("route"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    first_code_at = models.DateTimeField(_("first code at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    # Poller bookkeeping: when to ask the provider next, and which worker holds the claim.
    next_poll_at = models.DateTimeField(_("next poll at"), default=timezone.now)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    poll_failures = models.PositiveIntegerField(_("poll failures"), default=0)
    last_poll_error = models.CharField(_("last poll error"), max_length=200, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # Bumped by every change of state or codes: writers update only the revision they read,
    # so a poller and a user acting at the same moment never undo each other's change.
    revision = models.PositiveIntegerField(_("revision"), default=0, editable=False)

    class Meta:
        verbose_name = _("activation")
        verbose_name_plural = _("activations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "request_token"], name="one_activation_per_buy_token"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_activation_id"],
                name="one_activation_per_provider_id",
            ),
            # A negative price would lower the month's spending and raise the stored balance.
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="activation_price_not_negative"
            ),
        ]
        indexes = [
            # Covering index: every report query is an index-only scan on PostgreSQL.
            models.Index(
                fields=["team", "created_at"],
                include=[
                    "id",
                    "state",
                    "price",
                    "user",
                    "service",
                    "country",
                    "operator",
                    "first_code_at",
                ],
                name="activation_team_created",
            ),
            models.Index(fields=["state", "provider"], name="activation_state_provider"),
            models.Index(fields=["next_poll_at"], name="activation_next_poll"),
        ]

    def __str__(self) -> str:
        return gettext("%(phone)s for %(service)s (%(state)s)") % {
            "phone": self.phone,
            "service": self.service.code,
            "state": self.get_state_display(),
        }

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def costs_money(self) -> bool:
        return self.state not in self.FREE_STATES

    @property
    def latest_code(self) -> str | None:
        return self.codes[-1] if self.codes else None

    @property
    def poll_error_shown(self) -> str:
        """`last_poll_error` (stored in English by the poller) in the reader's language."""
        from activations.poller.results import poll_error_shown

        return poll_error_shown(self.last_poll_error)


class RoutingPolicy(models.TextChoices):
    """How a purchase orders the offers it may buy (`activations.routing`)."""

    CHEAPEST = "cheapest", _("Cheapest")
    RELIABLE = "reliable", _("Most reliable")


class TeamRouting(models.Model):
    """The team's routing policy; a team without a row routes by the cheapest offer."""

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="routing", verbose_name=_("team")
    )
    policy = models.CharField(
        _("policy"), max_length=16, choices=RoutingPolicy.choices, default=RoutingPolicy.CHEAPEST
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("team routing")
        verbose_name_plural = _("team routing")

    def __str__(self) -> str:
        return f"{self.team}: {self.get_policy_display()}"


class PriceLimit(models.Model):
    """The team's default highest price for one service, at every provider (the service is
    matched across providers by the protocol's service code). A purchase may ask for less."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="price_limits", verbose_name=_("team")
    )
    service_code = models.CharField(
        _("service code"), max_length=32, help_text=_("The protocol's service id, e.g. 'tg'.")
    )
    max_price = models.DecimalField(_("max price"), max_digits=12, decimal_places=2)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("price limit")
        verbose_name_plural = _("price limits")
        ordering = ["team", "service_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "service_code"], name="one_price_limit_per_team_service"
            ),
            models.CheckConstraint(
                condition=models.Q(max_price__gte=0), name="price_limit_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(team)s: %(service)s at most %(price)s") % {
            "team": self.team,
            "service": self.service_code,
            "price": self.max_price,
        }


class Reservation(models.Model):
    """Money set aside for a purchase in flight, between the budget check and getNumber.

    Counted as spent until the purchase ends (the activation replaces it, or a refusal deletes
    it). A reservation older than `budgets.reservation_ttl()` is a crashed purchase and is
    not counted.
    """

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="reservations", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reservations",
        verbose_name=_("user"),
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    request_token = models.CharField(_("request token"), max_length=64)
    # Counted against the token's numbers per day while the purchase is in flight.
    api_token = models.ForeignKey(
        ApiToken,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API token"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "request_token"], name="one_reservation_per_buy_token"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="reservation_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(amount)s reserved by %(user)s in %(team)s") % {
            "amount": self.amount,
            "user": self.user,
            "team": self.team,
        }


class WorkerHeartbeat(models.Model):
    """When a background loop (the poller) last ran, for the home page and admin."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
