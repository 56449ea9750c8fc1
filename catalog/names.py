"""Catalog names in the reader's language.

A provider names its countries and services in the language its `lang` asks for; the sync
can also ask the other language for names only (`Provider.names_in_both_languages`). Each
Country and Service keeps `name` (the provider's own lang, never blank) and `name_en` /
`name_ru` (blank when unknown). What is shown is the current language's name, else `name`.
"""

from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import get_language

NAME_LANGUAGES = ("en", "ru")


def current_name_language(language: str | None = None) -> str:
    """ "ru" or "en": the name column of `language` (default: the active language)."""
    language = (language or get_language() or "en").lower()
    return "ru" if language.startswith("ru") else "en"


def name_field(language: str | None = None) -> str:
    """`name_ru` or `name_en`."""
    return f"name_{current_name_language(language)}"


def shown_name(row, language: str | None = None) -> str:
    """The name of a Country or Service (`row`) in `language` (default: the active one),
    else its provider's name."""
    return getattr(row, name_field(language), "") or row.name


def localized_name(prefix: str = "", language: str | None = None) -> Coalesce:
    """A query expression for the name in the current language, else the provider's name:
    `localized_name("service__")` reads the offer's service's name."""
    return Coalesce(NullIf(F(f"{prefix}{name_field(language)}"), Value("")), F(f"{prefix}name"))


def name_lookups(prefix: str = "", lookup: str = "icontains") -> list[str]:
    """The lookups that match a name in any language (`name`, `name_en`, `name_ru`)."""
    return [f"{prefix}name__{lookup}"] + [
        f"{prefix}name_{language}__{lookup}" for language in NAME_LANGUAGES
    ]
