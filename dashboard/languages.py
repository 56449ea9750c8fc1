"""The language a person reads SMS Desk in.

Their own choice (`Profile.language`, set in Your settings or by the language switch) comes
first; without one, what their browser asks for. Django's LocaleMiddleware reads the language
cookie, else Accept-Language; the cookie carries the person's choice to the browser: the
switch and Your settings set it with the choice, and signing in sets it from the profile
(`SignInView`). So a request costs no query for its language. Emails go out in each
recipient's language (`language_of`), whatever the language of the request that sent them.
"""

from django.conf import settings

from dashboard.models import Profile


def chosen_language(user) -> str:
    """The person's own choice, or "" when they left it to their browser."""
    if user is None or not user.is_authenticated:
        return ""
    try:
        return user.profile.language
    except Profile.DoesNotExist:
        return ""


def language_of(user) -> str:
    """What to write to this person in when no browser is asking (emails): their own choice,
    else the site's default."""
    return chosen_language(user) or settings.LANGUAGE_CODE


def set_language_cookie(response, language: str) -> None:
    """The cookie Django's set_language sets: the browser keeps the language after sign-out."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def remember_language(user, language: str) -> None:
    """Store a signed-in person's choice, so that it follows them to every browser."""
    Profile.objects.update_or_create(user=user, defaults={"language": language})
