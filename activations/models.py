"""A team's activations, the reservations that hold budget while a purchase is in flight, and
the background loops' heartbeats."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Country, Operator, Provider, ProviderAccount, Service
from dashboard.models import ApiToken, Team


class Activation(models.Model):
    """A number bought for one service; receives one or more codes."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for code"
        CODE_RECEIVED = "code_received", "Code received"
        WAITING_RETRY = "waiting_retry", "Waiting for another code"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    OPEN_STATES = frozenset({State.WAITING, State.CODE_RECEIVED, State.WAITING_RETRY})
    FREE_STATES = frozenset({State.CANCELLED, State.EXPIRED})  # these cost nothing

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="activations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activations"
    )
    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="activations"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="activations")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="activations")
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="activations")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="activations")
    phone = models.CharField(max_length=32)
    provider_activation_id = models.CharField(max_length=64)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    codes = models.JSONField(default=list, blank=True)
    # NULL, not "", when there is no token: the unique constraint must not clash on blanks.
    request_token = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, help_text="The buy form's token (double submits)."
    )
    api_token = models.ForeignKey(
        ApiToken,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activations",
        help_text="The personal token it was bought through; empty when bought in the browser.",
    )
    # How routing chose this number: the policy, and each provider tried before the one
    # that sold it with its answer ({"policy": "cheapest", "tried": [{"provider": ..., ...}]}).
    route = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    first_code_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    # Poller bookkeeping: when to ask the provider next, and which worker holds the claim.
    next_poll_at = models.DateTimeField(default=timezone.now)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_failures = models.PositiveIntegerField(default=0)
    last_poll_error = models.CharField(max_length=200, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Bumped by every change of state or codes: writers update only the revision they read,
    # so a poller and a user acting at the same moment never undo each other's change.
    revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
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
        return f"{self.phone} for {self.service.code} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def costs_money(self) -> bool:
        return self.state not in self.FREE_STATES

    @property
    def latest_code(self) -> str | None:
        return self.codes[-1] if self.codes else None


class RoutingPolicy(models.TextChoices):
    """How a purchase orders the offers it may buy (`activations.routing`)."""

    CHEAPEST = "cheapest", "Cheapest"
    RELIABLE = "reliable", "Most reliable"


class TeamRouting(models.Model):
    """The team's routing policy; a team without a row routes by the cheapest offer."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="routing")
    policy = models.CharField(
        max_length=16, choices=RoutingPolicy.choices, default=RoutingPolicy.CHEAPEST
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "team routing"

    def __str__(self) -> str:
        return f"{self.team}: {self.get_policy_display()}"


class PriceLimit(models.Model):
    """The team's default highest price for one service, at every provider (the service is
    matched across providers by the protocol's service code). A purchase may ask for less."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="price_limits")
    service_code = models.CharField(
        max_length=32, help_text="The protocol's service id, e.g. 'tg'."
    )
    max_price = models.DecimalField(max_digits=12, decimal_places=2)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
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
        return f"{self.team}: {self.service_code} at most {self.max_price}"


class Reservation(models.Model):
    """Money set aside for a purchase in flight, between the budget check and getNumber.

    Counted as spent until the purchase ends (the activation replaces it, or a refusal deletes
    it). A reservation older than `budgets.reservation_ttl()` is a crashed purchase and is
    not counted.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="reservations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    request_token = models.CharField(max_length=64)
    # Counted against the token's numbers per day while the purchase is in flight.
    api_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
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
        return f"{self.amount} reserved by {self.user} in {self.team}"


class WorkerHeartbeat(models.Model):
    """When a background loop (the poller) last ran, for the home page and admin."""

    name = models.CharField(max_length=64, unique=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
