"""Admin for the activations app: activations, reservations and the poller's heartbeat."""

from django.contrib import admin

from activations.models import (
    Activation,
    PriceLimit,
    Reservation,
    TeamRouting,
    WorkerHeartbeat,
)


@admin.register(Activation)
class ActivationAdmin(admin.ModelAdmin):
    list_display = [
        "phone",
        "team",
        "user",
        "service",
        "country",
        "state",
        "price",
        "created_at",
        "poll_failures",
    ]
    list_filter = ["state", "provider"]
    search_fields = ["phone", "provider_activation_id", "team__name", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["team", "user", "service", "country"]
    readonly_fields = [
        "team",
        "user",
        "account",
        "provider",
        "service",
        "country",
        "operator",
        "phone",
        "provider_activation_id",
        "price",
        "state",
        "codes",
        "request_token",
        "route",
        "created_at",
        "updated_at",
        "first_code_at",
        "closed_at",
        "revision",
        "last_polled_at",
        "poll_failures",
        "last_poll_error",
        "claimed_by",
        "claimed_until",
    ]
    # States and codes move only through the services (conditional updates); the operator
    # may adjust the expiry and the next poll.
    fields = [*readonly_fields, "expires_at", "next_poll_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["team", "user", "amount", "created_at"]
    readonly_fields = ["team", "user", "amount", "request_token", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen_at"]
    readonly_fields = ["name", "last_seen_at", "details"]

    def has_add_permission(self, request):
        return False


@admin.register(TeamRouting)
class TeamRoutingAdmin(admin.ModelAdmin):
    list_display = ["team", "policy", "updated_at"]
    list_filter = ["policy"]
    list_select_related = ["team"]


@admin.register(PriceLimit)
class PriceLimitAdmin(admin.ModelAdmin):
    list_display = ["team", "service_code", "max_price", "updated_at"]
    search_fields = ["team__name", "service_code"]
    list_select_related = ["team"]
