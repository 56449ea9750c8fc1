"""The catalog browser's filters: read from the query string, so a filtered view is a URL."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Min
from django.utils.translation import gettext_lazy as _

from catalog.models import Country, Operator
from catalog.names import localized_name

# The catalog's orders of offers (catalog.queries.catalog_page: a combination comes where its
# first offer comes); each has an index on Offer (`offer_catalog_*`; "-price" reads
# "price"'s backwards).
SORTS = {
    "price": (_("Price, lowest first"), ["price", "-quantity", "pk"]),
    "-price": (_("Price, highest first"), ["-price", "quantity", "-pk"]),
    "-quantity": (_("Stock, most first"), ["-quantity", "price", "pk"]),
    "quantity": (_("Stock, least first"), ["quantity", "price", "pk"]),
}
DEFAULT_SORT = "price"
SEARCH_MAX_LENGTH = 100


class CatalogFilters(forms.Form):
    """Filters of the catalog across the enabled providers (countries by the protocol's id,
    operators by code). Every field is optional and a bad value of a choice counts as "any",
    so a stale or hand-edited URL still shows a catalog; a search the person typed that
    cannot be used (`search_refused`) is an error shown beside the field, and no offers.

    Offers in stock only, unless the person asks for the sold-out ones too: the catalog
    opens on what can be bought."""

    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        label=_("Service"),
        error_messages={
            "max_length": _(
                "Search for at most %(limit_value)d characters (this is %(show_value)d)."
            )
        },
    )
    country = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Country")
    )
    operator = forms.ChoiceField(required=False, label=_("Operator"))
    sold_out = forms.BooleanField(required=False, label=_("Show sold-out offers too"))
    sort = forms.ChoiceField(
        required=False,
        label=_("Sort by"),
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
    )

    def __init__(self, data) -> None:
        super().__init__(data)
        # A country listed by several providers once (named as the first name sorts).
        countries = (
            Country.objects.filter(provider__enabled=True, available=True)
            .values("external_id")
            .annotate(shown=Min(localized_name()))
            .order_by("shown", "external_id")
            .values_list("external_id", "shown")
        )
        self.fields["country"].choices = [("", _("Any country")), *countries]
        # The operator list depends on the chosen country: read that one first.
        try:
            country = self.fields["country"].clean(self.data.get("country"))
        except ValidationError:
            country = None
        operators = Operator.objects.filter(
            country__provider__enabled=True, country__available=True, available=True
        )
        if country is not None:
            operators = operators.filter(country__external_id=country)
        codes = operators.order_by("code").values_list("code", flat=True).distinct()
        self.fields["operator"].choices = [("", _("Any operator")), *((c, c) for c in codes)]

    @property
    def search_refused(self) -> bool:
        """The search typed cannot be used (too long): the page lists nothing, with the error."""
        self.is_valid()
        return "q" in self.errors

    def filters(self) -> dict:
        """The valid filters; a field that did not validate is left out (means "any")."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "q": data.get("q", "").strip(),
            "country": data.get("country"),
            "operator": data.get("operator") or "",
            "in_stock": not data.get("sold_out", False),
            "sort": data.get("sort") or DEFAULT_SORT,
        }
