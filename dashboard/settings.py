"""SMS Desk settings: every value is a typed read of the environment.

Development (the default) needs no configuration: a secret key and a field encryption key are
generated once into ``var/``. With ``DJANGO_ENV=production`` every secret must come from the
environment (or a ``*_FILE`` next to it) and start-up stops with a clear message otherwise.

``var/`` and the SQLite database in it hold secrets, sessions and password hashes: whatever the
umask, ``var/`` is created 0700 and the database and secret files 0600, and looser modes found
at start-up are tightened (see `private_dir` and `private_file`).
"""

import os
import secrets
import stat
import sys
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from dashboard.encryption import key_problems

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str | None:
    """A variable's value, or the contents of the file named by ``NAME_FILE``."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def tighten(path: Path, mode: int) -> Path:
    """Take away every permission `path` has beyond `mode`, saying so on stderr."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        path.chmod(current & mode)
        print(
            f"{path} was open to others (mode {current:o}); made it {current & mode:o}.",
            file=sys.stderr,
        )
    return path


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can use (0700): created so, or tightened."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return tighten(path, 0o700)


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read and write (0600): created empty, or tightened.
    Created with that mode, not changed after writing: no moment where others could read it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return tighten(path, 0o600)


def private_sqlite_database(name: str) -> None:
    """The SQLite file (and its WAL and shared-memory files) owner-only. Its directory is
    created 0700 if missing; only var/ itself is tightened, never an operator's directory."""
    path = Path(name)
    if path.parent == VAR_DIR:
        private_dir(VAR_DIR)
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_file(path)
    for companion in (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")):
        if companion.exists():
            tighten(companion, 0o600)


def development_secret(filename: str, make) -> str:
    """Read a generated development secret from var/, creating it on first use."""
    path = private_file(private_dir(VAR_DIR) / filename)
    if not path.read_text().strip():
        path.write_text(make())
    return path.read_text().strip()


def required_secret(name: str, make) -> str:
    value = env_str(name)
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} is not set. In production (DJANGO_ENV=production) it must come from the "
            f"environment or from a file named by {name}_FILE; see README.md, 'Production'."
        )
    return development_secret(name.lower(), make)


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

SECRET_KEY = required_secret("SECRET_KEY", lambda: secrets.token_urlsafe(50))
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS",
    []
    if PRODUCTION
    else [development_secret("field_encryption_key", lambda: Fernet.generate_key().decode())],
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS is not set. In production it must hold one or more Fernet keys, "
        "newest first, comma-separated; see README.md, 'Production'."
    )
if problems := key_problems(FIELD_ENCRYPTION_KEYS):
    raise ImproperlyConfigured(
        " ".join(problems) + " Make one with `python -c 'from cryptography.fernet import "
        "Fernet; print(Fernet.generate_key().decode())'`; see README.md, 'Production'."
    )

DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set; in production list the site's host names."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The built-in sandbox providers (mounted under /sandbox/); off in production. The mounted
# sandboxes know one API key (generated once into var/) for the demo team.
SANDBOX = env_bool("SANDBOX", not PRODUCTION)
SANDBOX_API_KEY = (
    env_str("SANDBOX_API_KEY")
    or development_secret("sandbox_api_key", lambda: secrets.token_hex(16))
    if SANDBOX
    else ""
)
SANDBOX_CODE_DELAY = env_float("SANDBOX_CODE_DELAY", 5.0)
# The sandbox providers the dashboard serves (setup_demo creates and keys them for the demo
# team), each at /sandbox/<mount>/stubs/handler_api ("" mounts at /sandbox/stubs/handler_api)
# with its own market: the knobs of provider.sandbox.market.Market (seed, price_factor,
# never_code_share, median_delay in seconds, spread, variation). Each knows SANDBOX_API_KEY.
# "Sandbox" is the classic catalog and delivers; "Sandbox B" is cheaper, slower, and a quarter
# of its numbers never get a code: routing has something to choose between.
SANDBOX_MARKETS = [
    {
        "name": "Sandbox",
        "mount": "",
        "seed": 0,
        "never_code_share": 0.05,
        "median_delay": SANDBOX_CODE_DELAY,
    },
    {
        "name": "Sandbox B",
        "mount": "b",
        "seed": 1,
        "price_factor": 0.85,
        "never_code_share": 0.25,
        "median_delay": 3 * SANDBOX_CODE_DELAY,
    },
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "dashboard",
    "catalog",
    "activations",
    "reports",
]

# Reverse proxies in front of the app that append to X-Forwarded-For (see dashboard.middleware).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

MIDDLEWARE = [
    "dashboard.middleware.ForwardedForMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the session middleware, so that a 503 answered there gets their headers too.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Django's, answering 503 when the session cannot be saved: see its docstring.
    "dashboard.middleware.SessionMiddleware",
    # The language cookie (set by the language switch, and at sign-in from the person's own
    # choice: dashboard/languages.py), else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Loads the session and the user before anything else reads them: see its docstring.
    "dashboard.middleware.DatabaseUnavailableMiddleware",
    "dashboard.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.TimeZoneMiddleware",
    "dashboard.middleware.AuditRequestMiddleware",
    # DEBUG only: our 404 page instead of Django's technical one (dashboard/not_found.py).
    "dashboard.not_found.OwnNotFoundPageMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.current_team",
            ],
            # money, moment, exact_time: amounts with their currency, times with their zone.
            "builtins": ["dashboard.templatetags.desk"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        private_sqlite_database(DATABASES["default"]["NAME"])
    # WAL and a busy timeout let the web server and the worker share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # SQLite has no covering indexes; it uses the reports' index without the included columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# English and Russian (README "Languages"): the translations are locale/ and each app's
# locale/, compiled by `make run` and `make test`.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Outside production WhiteNoise serves the files straight from static/ (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# Content Security Policy (Django's built-in middleware): no inline scripts anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

# Email (invitations, password resets): SMTP in production, printed to the console otherwise.
_email_backend = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
MAILERS = {"default": {"BACKEND": _email_backend}}
if _email_backend == "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 587),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SMS Desk <sms-desk@localhost>")

# Absolute links in emails (the weekly report), e.g. https://desk.example.org
SITE_URL = env_str("SITE_URL", "")

REDIS_URL = env_str("REDIS_URL")

# The cache holds state every process must share (failed sign-ins per username and address):
# Redis when REDIS_URL is set, otherwise a table in the database (`createcachetable` runs
# after every migrate). A per-process memory cache would let each gunicorn worker count alone.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smsdesk",
        }
    }
    # Sessions are read from Redis (a polled partial makes no session query) and written
    # through to the database, so a Redis restart or eviction signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "smsdesk_cache",
        }
    }

# The team gateway's counters (requests per token and second, and per token and day) change on
# every request, so they never go to the database: Redis when REDIS_URL is set, else this
# process's memory (exact for `make run`, one process; per worker under gunicorn without Redis).
CACHES["gateway"] = (
    {**CACHES["default"], "KEY_PREFIX": "smsdesk-gateway"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gateway"}
)
# Requests per second one personal token may make; more are answered 429 with Retry-After.
GATEWAY_REQUESTS_PER_SECOND = env_int("GATEWAY_REQUESTS_PER_SECOND", 20)
# How long a process keeps getStatus's token lookup (`activations.gateway.recent_tokens`); a
# revoked token is refused by getStatus within this time, by every other action at once.
GATEWAY_TOKEN_CACHE_SECONDS = env_float("GATEWAY_TOKEN_CACHE_SECONDS", 1.0)

# Sign-in rate limit: after this many failed attempts for one username from one address,
# that pair must wait this long after its last failure.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

# django-q2: the ORM broker by default, Redis when REDIS_URL is set. A task's timeout stays
# below its retry so that a slow task is never handed to a second worker while still running.
Q_CLUSTER = {
    "name": "smsdesk",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 90),
    "retry": env_int("Q_RETRY", 120),
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 500,
    "ack_failures": True,
    "poll": 1,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# runserver's request lines ("django.server") hold the URL, so a gateway token sent in a GET
# query (api_key=smsd_...) would land in them: the same filter as httpx's replaces it by ***.
# gunicorn's access log gets it from gunicorn.conf.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_api_keys": {"()": "provider.logs.RedactApiKeys"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_api_keys"],
        },
    },
}

# Activation lifetimes and the poller.
POLL_INTERVAL = env_float("POLL_INTERVAL", 3.0)
ACTIVATION_LIFETIME_MINUTES = env_int("ACTIVATION_LIFETIME_MINUTES", 20)
LIVE_REFRESH_SECONDS = env_int("LIVE_REFRESH_SECONDS", 2)

# Provider calls made while a web request waits (buying, moves, balance refresh, key checks):
# each ends within PROVIDER_WEB_DEADLINE_SECONDS (budget wait, connect and the whole answer),
# and at most PROVIDER_WEB_CONCURRENCY run at once per provider in each process, so a stuck
# provider cannot hold every web thread (see catalog.provider_slots).
PROVIDER_WEB_DEADLINE_SECONDS = env_float("PROVIDER_WEB_DEADLINE_SECONDS", 5.0)
PROVIDER_WEB_CONCURRENCY = env_int("PROVIDER_WEB_CONCURRENCY", 2)

# Catalog sync schedule (minutes).
CATALOG_COUNTRIES_INTERVAL_MINUTES = env_int("CATALOG_COUNTRIES_INTERVAL_MINUTES", 24 * 60)
CATALOG_PRICES_INTERVAL_MINUTES = env_int("CATALOG_PRICES_INTERVAL_MINUTES", 15)
