"""Settings of the ready-to-run TOM site (TOM Toolkit 3.1 + the BHTOM survey brokers).

Everything that differs between a laptop and production comes from the
environment; README.md lists every variable.
"""
import os
import tempfile
from pathlib import Path

import dj_database_url
from tom_common.default_settings import *  # noqa: F403
from tom_common.default_settings import TOMTOOLKIT_INSTALLED_APPS, TOMTOOLKIT_MIDDLEWARE

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return default if value is None else [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# A development key only when DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or ("insecure-development-key-only" if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
SECRET_KEY_FALLBACKS: list[str] = []
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

TOM_NAME = os.environ.get("TOM_NAME", "BHTOM survey brokers")

INSTALLED_APPS = TOMTOOLKIT_INSTALLED_APPS + [
    "tom_alerts",
    "bhtom_base",
    "bhtom2",
    "bhtom2.demo",  # this repository's demo (scripts/demo.sh); not part of the installed package
]
SITE_ID = 1
MIDDLEWARE = TOMTOOLKIT_MIDDLEWARE + []
ROOT_URLCONF = "urls"
WSGI_APPLICATION = "wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
CRISPY_TEMPLATE_PACK = "bootstrap5"

# SQLite file by default; DATABASE_URL=postgres://user@host:5432/db for PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{os.environ.get('SQLITE_PATH', BASE_DIR / 'db.sqlite3')}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent updates wait for the write lock instead of failing at once; WAL lets
    # readers work while one update writes, and commits need no fsync each (durable at
    # checkpoints; a power cut may lose the last commits, never corrupt the file).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=60, init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
    )
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["tom_base.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(BASE_DIR / "_static"))
STATICFILES_DIRS: list[str] = []
# Bootstrap from the site itself when scripts/setup.sh could fetch it (offline demo, closed networks).
VENDOR_STATIC = BASE_DIR / "vendor_static"
if (VENDOR_STATIC / "bootstrap" / "bootstrap.min.css").exists():
    STATICFILES_DIRS.append(str(VENDOR_STATIC))
    BOOTSTRAP5 = {
        "css_url": {"url": STATIC_URL + "bootstrap/bootstrap.min.css"},
        "javascript_url": {"url": STATIC_URL + "bootstrap/bootstrap.bundle.min.js"},
    }
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(BASE_DIR / "data"))
MEDIA_URL = "/data/"

# Production hardening (manage.py check --deploy is clean with DEBUG=0 and HTTPS=1).
if env_bool("HTTPS", False):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"timestamped": {"format": "[{asctime}] {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "timestamped"}},
    "loggers": {
        "": {"handlers": ["console"], "level": "WARNING"},
        "bhtom": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.path.join(tempfile.gettempdir(), "bhtom-cache"),
    }
}

# Background work: run at once by default; the database backend + `manage.py db_worker`
# on any number of machines sharing one PostgreSQL when TASKS_BACKEND=database.
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks.backends.database.DatabaseBackend",
            "dummy": "django_tasks.backends.dummy.DummyBackend",
        }[os.environ.get("TASKS_BACKEND", "immediate")]
    }
}

TARGET_TYPE = "SIDEREAL"
MATCH_MANAGERS: dict = {}
FACILITIES: dict = {}
DATA_PRODUCT_TYPES = {
    "photometry": ("photometry", "Photometry"),
    "fits_file": ("fits_file", "FITS File"),
    "spectroscopy": ("spectroscopy", "Spectroscopy"),
    "image_file": ("image_file", "Image File"),
}
DATA_PROCESSORS = {
    "photometry": "tom_dataproducts.processors.photometry_processor.PhotometryProcessor",
    "spectroscopy": "tom_dataproducts.processors.spectroscopy_processor.SpectroscopyProcessor",
}
TOM_FACILITY_CLASSES: list[str] = []
GENERAL_SEARCH_FUNCTIONS: dict = {}
SELECTION_EXTRA_FIELDS: list = []
AUTH_STRATEGY = os.environ.get("AUTH_STRATEGY", "READ_ONLY")
OPEN_URLS: list[str] = []
TARGET_PERMISSIONS_ONLY = True
TARGET_DEFAULT_PERMISSION = "PRIVATE"
TARGET_LIST_COLUMNS = ["name", "type", "observations", "saved_data"]
HOOKS = {
    "target_post_save": "tom_common.hooks.target_post_save",
    "observation_change_state": "tom_common.hooks.observation_change_state",
    "data_product_post_upload": "tom_dataproducts.hooks.data_product_post_upload",
    "data_product_post_save": "tom_dataproducts.hooks.data_product_post_save",
    "multiple_data_products_post_save": "tom_dataproducts.hooks.multiple_data_products_post_save",
}
AUTO_THUMBNAILS = False
THUMBNAIL_MAX_SIZE = (0, 0)
THUMBNAIL_DEFAULT_SIZE = (200, 200)
HINTS_ENABLED = False
HINT_LEVEL = 20
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tom_common.accounts.api_auth.TomTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}
PLOTLY_THEME = "plotly_white"
SHOW_PAGINATION_INFO = True

# ---------------------------------------------------------------------------
# Survey brokers: the only lines a TOM needs (README "Add to your TOM"). Every
# BHTOM_* setting has its default in bhtom_base/conf.py and is read from the
# environment there (BHTOM_URL_<SOURCE>, credentials, timeouts: README).
# ---------------------------------------------------------------------------
from bhtom2.brokers import ALL as BHTOM_BROKERS  # noqa: E402

TOM_ALERT_CLASSES = [
    *BHTOM_BROKERS,
]

try:
    from local_settings import *  # noqa: F401,F403
except ImportError:
    pass
