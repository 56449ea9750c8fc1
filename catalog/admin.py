"""Admin for the catalog: providers are managed here; sync runs are read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from catalog.models import (
    Country,
    Offer,
    Operator,
    PriceChange,
    Provider,
    ProviderAccount,
    Service,
    SyncRun,
)
from dashboard.read_only_admin import ReadOnlyAdmin


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "handler_url",
        "lang",
        "request_method",
        "max_requests_per_second",
        "enabled",
    ]
    list_filter = ["enabled", "is_sandbox", "lang", "request_method"]
    search_fields = ["name", "handler_url"]
    readonly_fields = ["created_at", "sync_claimed_until", "sync_queued_until"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # Only this provider's accounts can list its prices (none before it is saved).
        field = form.base_fields["sync_account"]
        accounts = field.queryset.select_related("team")
        field.queryset = accounts.filter(provider=obj) if obj else accounts.none()
        return form


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "name_en",
        "name_ru",
        "external_id",
        "provider",
        "available",
        "last_seen_at",
    ]
    list_filter = ["available", "provider"]
    search_fields = ["name", "name_en", "name_ru", "=external_id"]
    list_select_related = ["provider"]


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ["code", "country", "available", "last_seen_at"]
    list_filter = ["available", "country__provider"]
    search_fields = ["code", "country__name", "country__name_en", "country__name_ru"]
    list_select_related = ["country"]
    raw_id_fields = ["country"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "name_ru", "code", "provider"]
    list_filter = ["provider"]
    search_fields = ["name", "name_en", "name_ru", "=code"]
    list_select_related = ["provider"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["service", "country", "operator", "price", "quantity", "available"]
    list_filter = ["available", "provider"]
    search_fields = [
        "service__name",
        "service__name_en",
        "service__name_ru",
        "=service__code",
        "country__name",
        "country__name_en",
        "country__name_ru",
        "operator__code",
    ]
    list_select_related = ["service", "country", "operator"]
    raw_id_fields = ["country", "operator", "service"]
    readonly_fields = ["last_seen_at", "updated_at"]


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ["offer", "price", "recorded_at"]
    list_filter = ["offer__provider"]
    search_fields = [
        "=offer__service__code",
        "offer__service__name",
        "offer__service__name_en",
        "offer__service__name_ru",
        "offer__country__name",
        "offer__country__name_en",
        "offer__country__name_ru",
    ]
    list_select_related = ["offer__service", "offer__country", "offer__operator"]
    raw_id_fields = ["offer"]
    date_hierarchy = "recorded_at"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "provider",
        "kind",
        "started_at",
        "finished_at",
        "calls",
        "offers",
        "offers_changed",
        "error_count",
    ]
    list_filter = ["kind", "provider"]
    search_fields = ["provider__name"]
    list_select_related = ["provider"]
    date_hierarchy = "started_at"


# Keys are never shown, only their last four characters.
@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    list_display = [
        "team",
        "provider",
        "masked_key",
        "balance",
        "balance_checked_at",
        "polls",
        "poll_changes",
        "poll_errors",
        "last_polled_at",
    ]
    list_filter = ["provider"]
    search_fields = ["team__name", "team__slug"]
    # key_ciphertext is not editable and never listed; keys are attached on the team's page.
    fields = [
        "team",
        "provider",
        "masked_key",
        "balance",
        "balance_checked_at",
        "created_by",
        "created_at",
        "updated_at",
        "polls",
        "poll_changes",
        "poll_errors",
        "last_polled_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("masked key"))
    def masked_key(self, account: ProviderAccount) -> str:
        return account.masked_key

    def has_add_permission(self, request):
        return False  # a key must be checked with the provider first: the team's page does it
