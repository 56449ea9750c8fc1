"""Teams, their members and roles, invitations to join them, the append-only audit log, and
the members' personal API tokens."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

INVITATION_LIFETIME = timedelta(days=7)


class Role(models.TextChoices):
    OWNER = "owner", pgettext_lazy("role", "Owner")
    MANAGER = "manager", pgettext_lazy("role", "Manager")
    MEMBER = "member", pgettext_lazy("role", "Member")
    VIEWER = "viewer", pgettext_lazy("role", "Viewer")


# Role groups that views and services ask for.
MANAGERS = frozenset({Role.OWNER, Role.MANAGER})
BUYERS = frozenset({Role.OWNER, Role.MANAGER, Role.MEMBER})
EVERYONE = frozenset(Role)


class Currency(models.TextChoices):
    """What a provider's prices and a team's budgets are counted in: the protocol's `lang`
    selects rubles (ru) or dollars (en)."""

    USD = "USD", _("US dollar ($)")
    RUB = "RUB", _("Russian ruble (₽)")


class Team(models.Model):
    name = models.CharField(
        max_length=100, verbose_name=pgettext_lazy("a team's or token's", "name")
    )
    slug = models.SlugField(max_length=60, unique=True, verbose_name=_("slug"))
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text=_("Day boundaries in reports use this time zone."),
        verbose_name=_("time zone"),
    )
    monthly_budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Most the team may spend per calendar month; empty means unlimited."),
        verbose_name=_("monthly budget"),
    )
    members_see_reports = models.BooleanField(
        default=False,
        help_text=_("Members (not only managers and viewers) may open the reports."),
        verbose_name=_("members see reports"),
    )
    currency = models.CharField(
        max_length=3,
        choices=Currency.choices,
        default=Currency.USD,
        help_text=_(
            "Budgets and reports are in this currency: that of the team's provider "
            "accounts (amounts are not converted)."
        ),
        verbose_name=_("currency"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """A person's own settings, across teams."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
        verbose_name=_("user"),
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Times are shown in this zone; empty: in each team's own time zone."),
        verbose_name=_("time zone"),
    )
    language = models.CharField(
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Pages and emails are in this language; empty: as the browser asks."),
        verbose_name=_("language"),
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return gettext("Settings of %(user)s") % {"user": self.user}


class Membership(models.Model):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.MEMBER, verbose_name=_("role")
    )
    monthly_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Most this member may spend per calendar month; empty means unlimited."),
        verbose_name=_("monthly limit"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["team", "user__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_user_team")
        ]

    def __str__(self) -> str:
        return gettext("%(user)s in %(team)s (%(role)s)") % {
            "user": self.user,
            "team": self.team,
            "role": self.get_role_display(),
        }

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
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("team")
    )
    email = models.EmailField(verbose_name=_("email"))
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.MEMBER, verbose_name=_("role")
    )
    token = models.CharField(
        max_length=64, unique=True, default=new_invitation_token, verbose_name=_("token")
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(default=invitation_expiry, verbose_name=_("expires at"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return gettext("Invitation of %(email)s to %(team)s") % {
            "email": self.email,
            "team": self.team,
        }

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
        CALL = "call", _("Upstream call")
        ACTION = "action", _("User action")

    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    action = models.CharField(max_length=64, verbose_name=_("action"))
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("team"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("user"),
    )
    object_type = models.CharField(max_length=64, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    params = models.JSONField(default=dict, blank=True, verbose_name=_("params"))
    answer = models.TextField(blank=True, verbose_name=_("answer"))
    http_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("http status")
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("latency ms"))
    outcome = models.CharField(max_length=64, blank=True, verbose_name=_("outcome"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip"))
    api_token = models.ForeignKey(
        "ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The personal token the action came through; empty for the browser."),
        verbose_name=_("api token"),
    )
    request_id = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        editable=False,
        help_text=_(
            "The web request or worker job that wrote it: a person's action and the "
            "provider calls it made share it. Empty for events written outside one."
        ),
        verbose_name=_("request id"),
    )

    class Meta:
        db_table = "activations_auditevent"  # moved from activations (issue 13)
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
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

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    membership = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text=_("Empty once the member left the team: the token then stops working."),
        verbose_name=_("membership"),
    )
    name = models.CharField(
        max_length=100, verbose_name=pgettext_lazy("a team's or token's", "name")
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False, verbose_name=_("prefix"))
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("digest"))
    max_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Highest price per number; empty means any price."),
        verbose_name=_("max price"),
    )
    daily_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Most numbers per day (the team's time zone); empty means no limit."),
        verbose_name=_("daily limit"),
    )
    services = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Service codes this token may buy (e.g. tg, wa); empty means every service."),
        verbose_name=_("services"),
    )
    balance_prefix = models.BooleanField(
        default=False,
        help_text=_(
            "Answer getBalance as ACCESS_BALANCE:<amount>, for clients written for "
            "that variant of the protocol."
        ),
        verbose_name=_("balance prefix"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    last_used_ip = models.GenericIPAddressField(
        null=True, blank=True, verbose_name=_("last used ip")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("api token")
        verbose_name_plural = _("api tokens")
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
