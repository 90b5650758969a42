"""Django settings for revcast. Configuration comes from environment variables (twelve-factor)."""

from __future__ import annotations

import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
env = environ.Env()
environ.Env.read_env(Path.cwd() / ".env", overwrite=False)

SECRET_KEY = env("REVCAST_SECRET_KEY", default="insecure-dev-key-change-me-in-production-0123456789")
DEBUG = env.bool("REVCAST_DEBUG", default=False)
ALLOWED_HOSTS = env.list("REVCAST_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "revcast.core",
    "revcast.org",
    "revcast.customers",
    "revcast.pipeline",
    "revcast.activities",
    "revcast.dataio",
    "revcast.reporting",
    "revcast.forecasting",
    "revcast.api",
    "revcast.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns too many failed logins into a lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "revcast.urls"
WSGI_APPLICATION = "revcast.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "revcast.web.context.navigation",
            ],
        },
    },
]

# DATABASE_URL selects the database; the embedded SQLite file is the default.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or "sqlite:///" + str(Path.cwd() / "revcast.sqlite3")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling: refuses a locked-out username/IP first
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): 5 failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("REVCAST_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("REVCAST_LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env("REVCAST_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Without `collectstatic` (tests, `serve --dev`) whitenoise serves from the finders instead of STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at")
STATIC_ROOT = env.path("REVCAST_STATIC_ROOT", default=str(Path.cwd() / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Behind HTTPS in production set REVCAST_HTTPS=true: secure cookies, HSTS and redirects to https.
REVCAST_HTTPS = env.bool("REVCAST_HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = REVCAST_HTTPS
SECURE_SSL_REDIRECT = REVCAST_HTTPS
SECURE_HSTS_SECONDS = 31536000 if REVCAST_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = REVCAST_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if REVCAST_HTTPS else None
CSRF_TRUSTED_ORIGINS = env.list("REVCAST_CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "revcast.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "revcast.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "revcast.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env("REVCAST_API_RATE", default="10000/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "revcast API",
    "DESCRIPTION": "Sales data, reports and forecasts. Authenticate with `Authorization: Bearer TOKEN` "
    "(create one with `revcast token create USERNAME`) or a browser session.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# revcast's own settings
REVCAST_DEFAULT_CURRENCY = env("REVCAST_DEFAULT_CURRENCY", default="USD")
REVCAST_IMPORT_BATCH_SIZE = env.int("REVCAST_IMPORT_BATCH_SIZE", default=1000)
_CHECKOUT_MAPPINGS = PACKAGE_DIR.parent.parent / "mappings"
REVCAST_MAPPINGS_DIR = env.path(
    "REVCAST_MAPPINGS_DIR",
    default=str(_CHECKOUT_MAPPINGS if _CHECKOUT_MAPPINGS.is_dir() else PACKAGE_DIR / "mappings"),
)
REVCAST_DEMO_PASSWORD = env("REVCAST_DEMO_PASSWORD", default="revcast-demo")
# Country assumed for phone numbers written without a country code (ISO 3166 alpha-2), e.g. when
# standardising phones to E.164.
REVCAST_PHONE_REGION = env("REVCAST_PHONE_REGION", default="CN").upper()
# A deal is stale when it had neither an activity nor a stage change for this many days.
REVCAST_STALE_DAYS = env.int("REVCAST_STALE_DAYS", default=30)

# The fiscal calendar of every report and forecast (docs/guide/fiscal-calendar.md, ADR 0021): the month its
# year starts in (1 = January: fiscal years are calendar years) and whether a year is named by the calendar
# year it ends in (`end`: April 2016 to March 2017 is FY2017) or starts in (`start`: the same year is FY2016).
_fiscal_month = env.str("REVCAST_FISCAL_YEAR_START_MONTH", default="1").strip()
if not (_fiscal_month.isdigit() and 1 <= int(_fiscal_month) <= 12):
    raise ImproperlyConfigured(
        f"REVCAST_FISCAL_YEAR_START_MONTH={_fiscal_month!r}: expected the number of the month the fiscal year "
        "starts in, from 1 (January) to 12 (December)"
    )
REVCAST_FISCAL_YEAR_START_MONTH = int(_fiscal_month)
_fiscal_named_by = env.str("REVCAST_FISCAL_YEAR_NAMED_BY", default="end").strip()
if _fiscal_named_by.lower() not in ("end", "start"):
    raise ImproperlyConfigured(
        f"REVCAST_FISCAL_YEAR_NAMED_BY={_fiscal_named_by!r}: expected end (a year from April 2016 to March "
        "2017 is FY2017) or start (it is FY2016)"
    )
REVCAST_FISCAL_YEAR_NAMED_BY = _fiscal_named_by.lower()

# Background jobs (django-tasks): queued in the database (django-tasks-db), run by `revcast db_worker`
# (`--queue-name '*'` for every queue; several worker processes may share the queue on PostgreSQL).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "forecasting"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("REVCAST_LOG_LEVEL", default="WARNING")},
}
