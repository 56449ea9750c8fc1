"""Forms for signing in, team settings, a person's own settings and accepting an invitation."""

import hashlib
import logging
import time
import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, UserCreationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from dashboard import lockout
from dashboard.audit import client_ip
from dashboard.languages import chosen_language
from dashboard.models import Profile, Role, Team

log = logging.getLogger(__name__)


def seconds_now() -> float:
    """The sign-in limit's clock (a function, so that tests can move it)."""
    return time.time()


class SignInLimitMixin:
    """Refuses a username from an address after too many failed sign-in attempts.

    Failures are counted per (username, IP) by `dashboard.lockout`; the lock lasts
    LOGIN_FAILURE_WINDOW_SECONDS after the last failure and a success clears the count. The
    site's sign-in and the admin's share one count.
    """

    rate_limited_message = _(
        "Too many failed sign-in attempts for this username. "
        "Try again in %(minutes)d minutes, or reset your password."
    )

    def _failures_key(self) -> str:
        username = (self.data.get("username") or "").strip().casefold()
        ip = client_ip(self.request) if self.request else None
        digest = hashlib.sha256(f"{username}\0{ip}".encode()).hexdigest()
        return f"sign-in-failures:{digest}"

    def clean(self):
        key = self._failures_key()
        now = seconds_now()
        if lockout.recent_failures(key, now) >= settings.LOGIN_FAILURE_LIMIT:
            raise ValidationError(
                self.rate_limited_message,
                code="rate_limited",
                params={"minutes": max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)},
            )
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                failures = lockout.note_failure(key, now)
                if failures >= settings.LOGIN_FAILURE_LIMIT:
                    log.warning("Sign-in locked after %d failures", failures)
            raise
        lockout.clear(key)
        return cleaned


class RateLimitedAuthenticationForm(SignInLimitMixin, AuthenticationForm):
    pass


class RateLimitedAdminAuthenticationForm(SignInLimitMixin, AdminAuthenticationForm):
    pass


class LocalizedPasswordResetForm(PasswordResetForm):
    """Django's, with the email in the account holder's own language (their choice on their
    profile); without one, in the language of the page that asked for it."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        language = chosen_language(context.get("user")) or translation.get_language()
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class TeamDetailsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        label=_("Time zone"),
        help_text=_(
            "The team's pages show times in this zone (unless a person chose their own), "
            "and the reports' days start at its midnight."
        ),
    )

    class Meta:
        model = Team
        fields = ["name", "time_zone", "currency", "members_see_reports"]
        labels = {"members_see_reports": _("Members may open the reports")}
        help_texts = {
            "currency": _(
                "Budgets, highest prices and reports are in this currency. Amounts are "
                "not converted: choose the currency of the team's provider accounts (a provider "
                "answering in Russian sells in rubles, in English in dollars)."
            )
        }


def own_time_zone_choices() -> list[tuple[str, str]]:
    return [("", _("Each team's own time zone")), *time_zone_choices()]


def own_language_choices() -> list[tuple[str, str]]:
    return [("", _("As my browser asks")), *settings.LANGUAGES]


class AccountSettingsForm(forms.ModelForm):
    """A person's own settings, across their teams."""

    time_zone = forms.ChoiceField(
        choices=own_time_zone_choices,
        required=False,
        label=_("Your time zone"),
        help_text=_(
            "Every page shows times in this zone. Leave it on each team's own zone to see "
            "a team's times as its other members do."
        ),
    )
    language = forms.ChoiceField(
        choices=own_language_choices,
        required=False,
        label=_("Language"),
        help_text=_("Pages and emails to you are in this language."),
    )

    class Meta:
        model = Profile
        fields = ["language", "time_zone"]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, roles: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class InvitationSignUpForm(UserCreationForm):
    """A new account for the invited address; the email comes from the invitation."""

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.invited_email = email
        self.instance.email = email

    def clean(self):
        cleaned = super().clean()
        if User.objects.filter(email__iexact=self.invited_email).exists():
            raise ValidationError(
                _("An account with this email address exists already: sign in to accept."),
                code="email_taken",
            )
        return cleaned
