from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.forms import RateLimitedAdminAuthenticationForm
from dashboard.models import ApiToken, AuditEvent, Invitation, Membership, Profile, Team
from dashboard.read_only_admin import ReadOnlyAdmin

# The admin's sign-in counts failures with the site's own sign-in.
admin.site.login_form = RateLimitedAdminAuthenticationForm


class InvitationStateFilter(admin.SimpleListFilter):
    # Translators: the admin filter of invitations by their state.
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("pending", _("Pending")),
            ("accepted", _("Accepted")),
            ("revoked", _("Revoked")),
            ("expired", _("Expired")),
        ]

    def queryset(self, request, queryset):
        open_ = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        match self.value():
            case "pending":
                return open_.filter(expires_at__gt=timezone.now())
            case "accepted":
                return queryset.filter(accepted_at__isnull=False)
            case "revoked":
                return queryset.filter(revoked_at__isnull=False)
            case "expired":
                return open_.filter(expires_at__lte=timezone.now())
        return queryset


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "currency", "monthly_budget", "created_at"]
    list_filter = ["members_see_reports", "currency", "time_zone", "created_at"]
    search_fields = ["name", "slug", "memberships__user__username"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "time_zone"]
    list_filter = ["language", "time_zone"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "monthly_limit", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "team",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = [
        InvitationStateFilter,
        "role",
        "team",
    ]
    search_fields = ["email", "team__name", "invited_by__username"]
    readonly_fields = ["token", "accepted_at", "accepted_by", "revoked_at"]
    autocomplete_fields = ["team", "invited_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """The operator sees and revokes tokens; only a member creates one (its secret is shown
    to them once), so the admin cannot add one and never shows a secret."""

    list_display = ["name", "prefix", "team", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "balance_prefix", "team"]
    search_fields = ["name", "prefix", "team__name", "user__username"]
    readonly_fields = [
        "team",
        "user",
        "membership",
        "prefix",
        "created_at",
        "last_used_at",
        "last_used_ip",
        "revoked_by",
    ]
    exclude = ["digest"]
    list_select_related = ["team", "user"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "team", "user", "kind", "action", "outcome", "http_status"]
    list_filter = ["kind", "action", "outcome", ("api_token", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["action", "team__name", "user__username", "object_id", "=request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["team", "user"]
    # Not editable, so listed here to be shown; search for it to see the request's events.
    readonly_fields = ["request_id"]
