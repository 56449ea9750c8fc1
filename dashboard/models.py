"""Teams, their members and roles, invitations to join them, the append-only audit log, and
the members' personal API tokens."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

INVITATION_LIFETIME = timedelta(days=7)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# Role groups that views and services ask for.
MANAGERS = frozenset({Role.OWNER, Role.MANAGER})
BUYERS = frozenset({Role.OWNER, Role.MANAGER, Role.MEMBER})
EVERYONE = frozenset(Role)


class Currency(models.TextChoices):
    """What a provider's prices and a team's budgets are counted in: the protocol's `lang`
    selects rubles (ru) or dollars (en)."""

    USD = "USD", "US dollar ($)"
    RUB = "RUB", "Russian ruble (\u20bd)"


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="Day boundaries in reports use this time zone."
    )
    monthly_budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most the team may spend per calendar month; empty means unlimited.",
    )
    members_see_reports = models.BooleanField(
        default=False, help_text="Members (not only managers and viewers) may open the reports."
    )
    currency = models.CharField(
        max_length=3,
        choices=Currency.choices,
        default=Currency.USD,
        help_text="Budgets and reports are in this currency: that of the team's provider "
        "accounts (amounts are not converted).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """A person's own settings, across teams."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="Times are shown in this zone; empty: in each team's own time zone.",
    )
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text="Pages and emails are in this language; empty: as the browser asks.",
    )

    def __str__(self) -> str:
        return f"Settings of {self.user}"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    monthly_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most this member may spend per calendar month; empty means unlimited.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_user_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS

    @property
    def can_buy(self) -> bool:
        return self.role in BUYERS

    @property
    def sees_reports(self) -> bool:
        """Owners, managers and viewers see the team's reports; members when the team allows it
        (the reports' pages and the nav link both ask this)."""
        return self.role != Role.MEMBER or self.team.members_see_reports


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


def invitation_expiry():
    return timezone.now() + INVITATION_LIFETIME


class Invitation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.team}"

    def get_absolute_url(self) -> str:
        return reverse("accept_invitation", args=[self.token])

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self) -> bool:
        """Neither accepted nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_usable(self) -> bool:
        return self.is_pending and not self.is_expired


class AuditEvent(models.Model):
    """Append-only record of every upstream call and every user action. Never holds a key."""

    class Kind(models.TextChoices):
        CALL = "call", "Upstream call"
        ACTION = "action", "User action"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    action = models.CharField(max_length=64)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True)
    answer = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    api_token = models.ForeignKey(
        "ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The personal token the action came through; empty for the browser.",
    )
    request_id = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        editable=False,
        help_text="The web request or worker job that wrote it: a person's action and the "
        "provider calls it made share it. Empty for events written outside one.",
    )

    class Meta:
        db_table = "activations_auditevent"  # moved from activations (issue 13)
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "created_at"], name="audit_team_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


class ApiToken(models.Model):
    """A member's personal token for the team gateway (`activations.gateway`).

    Only the SHA-256 of the token is stored (a token is 40 random characters, so a fast hash
    is as strong as a slow one); `prefix` is its first characters, shown to tell tokens apart.
    The token acts as its member: `membership` is cleared when the member leaves or is
    removed, which ends the token; the role and monthly limit are read at each request.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    membership = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text="Empty once the member left the team: the token then stops working.",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    max_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Highest price per number; empty means any price.",
    )
    daily_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most numbers per day (the team's time zone); empty means no limit.",
    )
    services = models.JSONField(
        default=list,
        blank=True,
        help_text="Service codes this token may buy (e.g. tg, wa); empty means every service.",
    )
    balance_prefix = models.BooleanField(
        default=False,
        help_text="Answer getBalance as ACCESS_BALANCE:<amount>, for clients written for "
        "that variant of the protocol.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_price__gte=0) | models.Q(max_price__isnull=True),
                name="api_token_max_price_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.membership_id is not None

    @property
    def label(self) -> str:
        """How pages and the audit log name the token."""
        return f"{self.name} ({self.prefix}…)"
