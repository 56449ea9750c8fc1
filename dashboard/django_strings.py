"""Words of Django's own pages that its Russian catalog (Django 6.1) leaves untranslated.

Listed here so that `make translations` keeps them in our .po files, whose translations come
before Django's: the admin then reads Russian throughout. Nothing imports this module; delete
an entry once Django's own catalog translates it."""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = [
    gettext_noop("- Select an option -"),  # the empty choice of a select (a model field's)
    gettext_noop("Filter by %(field_name)s"),  # the admin's date hierarchy
]
