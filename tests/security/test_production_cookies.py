"""With DJANGO_ENV=production the cookies and headers a browser gets are the safe ones.

`manage.py check --deploy` passing with production settings (which covers the settings
SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE, SESSION_COOKIE_HTTPONLY, HSTS, SSL redirect) is
tested in tests/dashboard/test_production_settings.py. Here a production process answers real
requests and the test reads the Set-Cookie and security headers it sends.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

# Runs in a production process: the sign-in page over HTTPS and HTTP, and a session saved by
# the real SessionMiddleware (signed cookies, so no database is needed for it).
SCRIPT = r"""
import json
import django
django.setup()
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

# Plain static storage: this process has no collectstatic manifest, and cookies do not care.
plain = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(
    STORAGES=plain, SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"
):
    browser = Client(HTTP_HOST="desk.example.org")
    page = browser.get("/accounts/login/", secure=True)
    plain_http = browser.get("/accounts/login/")

    def view(request):
        request.session["team_slug"] = "x"
        return HttpResponse()

    request = RequestFactory(HTTP_HOST="desk.example.org").get("/", secure=True)
    saved = SessionMiddleware(view)(request)

def cookie(response, name):
    morsel = response.cookies[name]
    return {k: morsel[k] for k in ("secure", "httponly", "samesite")}

print(json.dumps({
    "status": page.status_code,
    "csrf": cookie(page, settings.CSRF_COOKIE_NAME),
    "session": cookie(saved, settings.SESSION_COOKIE_NAME),
    "headers": dict(page.headers),
    "http": [plain_http.status_code, plain_http.headers.get("Location")],
}))
"""


def production_answers(tmp_path) -> dict:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_ENV": "production",
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "p" * 20 + "a-long-random-production-secret-key-0123456789",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "desk.example.org",
        "LOG_LEVEL": "ERROR",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_and_headers(tmp_path):
    answers = production_answers(tmp_path)
    assert answers["status"] == 200

    assert answers["session"]["secure"] is True
    assert answers["session"]["httponly"] is True
    assert answers["session"]["samesite"] == "Lax"
    # The CSRF cookie is Secure; not HttpOnly, by choice: htmx takes the token from the page
    # (hx-headers), and an HttpOnly CSRF cookie protects nothing (Django's documentation).
    assert answers["csrf"]["secure"] is True
    assert answers["csrf"]["samesite"] == "Lax"

    headers = answers["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]

    status, location = answers["http"]
    assert status == 301
    assert location == "https://desk.example.org/accounts/login/"
