"""Zenith settings: one env-driven module (see README "Configuration").

With no variables set Zenith runs embedded: SQLite, Channels' in-memory layer and
Celery on kombu's filesystem transport, all under ``ZENITH_VAR_DIR``. With
``DATABASE_URL`` / ``REDIS_URL`` it runs on PostgreSQL (+TimescaleDB) and Redis.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext

from zenith.env import (
    ImproperEnvironment,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_parse,
    env_str,
    env_url,
    json_object,
)

# Lets classes subscript Django generics (ModelAdmin[Spacecraft]) for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ZENITH_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)

_secret = env_str("SECRET_KEY")
if _secret is None:
    # Embedded mode keeps a generated key on disk so sessions survive restarts;
    # production must set SECRET_KEY (or SECRET_KEY_FILE).
    if env_str("DATABASE_URL"):
        raise ImproperEnvironment("SECRET_KEY", "is required when DATABASE_URL is set")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        _key_file.chmod(0o600)
    _secret = _key_file.read_text(encoding="utf-8").strip()
elif len(_secret) < 32:
    raise ImproperEnvironment("SECRET_KEY", "must be at least 32 characters")
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

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
    "channels",
    "ops.fleet",
    "ops.alerts",
    "ops.console",
    "telemetry",
    "scheduling",
]

MIDDLEWARE = [
    "zenith.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zenith.urls"
ASGI_APPLICATION = "zenith.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes={"postgres", "postgresql", "pgsql", "sqlite"})
EMBEDDED = DATABASE_URL is None
if DATABASE_URL is None:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _default_db: dict[str, Any] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "zenith.sqlite3"),
        "OPTIONS": {
            # The web server and the Celery worker share the file: WAL lets readers
            # run beside one writer, IMMEDIATE avoids deadlocking lock upgrades.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
    }
else:
    try:
        _default_db = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))
    except ValueError as exc:
        raise ImproperEnvironment("DATABASE_URL", str(exc)) from exc
    if _default_db["ENGINE"] == "django.db.backends.postgresql":
        _options = _default_db.setdefault("OPTIONS", {})
        _options["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
        _pool_max = env_int("DB_POOL_MAX", 8, minimum=0, maximum=500)
        if _pool_max and env_bool("ZENITH_ASGI_SERVER", False):
            # Under ASGI every request may run in a fresh thread, so Django's thread-local
            # persistent connections would mean a new PostgreSQL connection per request
            # (~10 ms). A psycopg pool per server process keeps them; each checkout is
            # verified so a restarted server costs no failed request, and an unreachable
            # one fails fast (DB_POOL_TIMEOUT) with 503 rather than hanging the client.
            # Workers, commands and tests keep one persistent connection per thread.
            # (Django passes check=ConnectionPool.check_connection itself.)
            _options["pool"] = {
                "min_size": env_int("DB_POOL_MIN", 1, minimum=0),
                "max_size": _pool_max,
                "timeout": env_float("DB_POOL_TIMEOUT", 2.0, minimum=0.1),
            }
        else:
            _default_db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
            _default_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis, channels, celery --------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss", "unix"})
if DATABASE_URL and not REDIS_URL and not env_bool("ZENITH_ALLOW_NO_REDIS", False):
    # Without Redis the channel layer is per process: consoles would miss what other
    # server processes ingest. Single-process setups may opt out explicitly.
    raise ImproperEnvironment(
        "REDIS_URL", "is required with DATABASE_URL (or set ZENITH_ALLOW_NO_REDIS=true)"
    )

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer fans out ~14x faster than the core layer (DESIGN.md).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Redis pub/sub channels ignore the database number: deployments (or test runs)
            # sharing one Redis keep their live events apart by prefix.
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "zenith") or "zenith",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_DIR = VAR_DIR / "celery" / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
    CELERY_RESULT_BACKEND = env_str(
        "CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery' / 'results'}"
    )
    for _folder in ("broker", "processed", "results", "control"):
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Exchange tables (queue bindings): under var/, not the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Periodic tasks are registered by the apps (zenith.registry.periodic).
CELERY_BEAT_SCHEDULE: dict[str, Any] = {}

# --- influxdb sink (optional) -------------------------------------------------
INFLUXDB_URL = env_url("INFLUXDB_URL", schemes={"http", "https"})
INFLUXDB_ORG = env_str("INFLUXDB_ORG", "zenith")
INFLUXDB_BUCKET = env_str("INFLUXDB_BUCKET", "telemetry")
INFLUXDB_TOKEN = env_str("INFLUXDB_TOKEN")
INFLUXDB_BATCH_SIZE = env_int("INFLUXDB_BATCH_SIZE", 5000, minimum=1)
INFLUXDB_FLUSH_INTERVAL_MS = env_int("INFLUXDB_FLUSH_INTERVAL_MS", 1000, minimum=10)
INFLUXDB_MAX_RETRIES = env_int("INFLUXDB_MAX_RETRIES", 5, minimum=0)
INFLUXDB_MAX_RETRY_TIME_MS = env_int("INFLUXDB_MAX_RETRY_TIME_MS", 120_000, minimum=0)
if INFLUXDB_URL and not INFLUXDB_TOKEN:
    raise ImproperEnvironment("INFLUXDB_TOKEN", "is required when INFLUXDB_URL is set")

# --- auth and API --------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

_RENDERERS = ["rest_framework.renderers.JSONRenderer"]
if DEBUG:
    _RENDERERS.append("rest_framework.renderers.BrowsableAPIRenderer")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ops.fleet.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ops.edge.permissions.ScopePermission"],
    "DEFAULT_PAGINATION_CLASS": "ops.edge.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ops.edge.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": _RENDERERS,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}


SPECTACULAR_SETTINGS = {
    "TITLE": "Zenith API",
    "DESCRIPTION": (
        "Ground segment for constellations of orbital compute nodes. "
        "Authenticate with `Authorization: Bearer <token>`; tokens carry scopes "
        "`ingest`, `schedule`, `operate`, `admin`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrbitKindEnum": "ops.fleet.models.OrbitKind",
        "MetricKindEnum": "telemetry.models.MetricKind",
        "TransferKindEnum": "scheduling.models.TransferKind",
        "TransferDirectionEnum": "scheduling.models.TransferDirection",
    },
    # Served from the installed sidecar package: nothing is loaded from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- i18n, static --------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")) or VAR_DIR / "static")
try:
    # WhiteNoise warns on every request when the folder is missing (before collectstatic).
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js from the installed plotly package (the console loads nothing from a CDN).
    "ops.console.staticfiles.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Uploads: the JSON API refuses oversized bodies early (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ZENITH_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not EMBEDDED:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

# --- zenith --------------------------------------------------------------------
ZENITH_TOKEN_LAST_USED_RESOLUTION_S = env_int("ZENITH_TOKEN_LAST_USED_RESOLUTION_S", 60, minimum=0)
ZENITH_TOKEN_CACHE_S = env_int("ZENITH_TOKEN_CACHE_S", 5, minimum=0, maximum=300)
ZENITH_HEALTH_TIMEOUT_S = env_int("ZENITH_HEALTH_TIMEOUT_S", 3, minimum=1, maximum=60)
ZENITH_METRICS_PUBLIC = env_bool("ZENITH_METRICS_PUBLIC", False)
# Live events to console sockets: at most this many a second per topic and key
# (ops.edge.live). TELEMETRY_LIVE_HZ is the name it had before.
ZENITH_LIVE_HZ = env_float(
    "ZENITH_LIVE_HZ", env_float("TELEMETRY_LIVE_HZ", 10.0, minimum=0.1), minimum=0.1
)
# --- scheduling ---------------------------------------------------------------------
# UT1-UTC and leap seconds; the bundled table is used when unset (manage.py update_eop).
ZENITH_EOP_FILE = env_str("ZENITH_EOP_FILE")
# Shortest contact worth booking (planner and manual booking), seconds.
ZENITH_MIN_CONTACT_S = env_float("ZENITH_MIN_CONTACT_S", 60.0, minimum=1.0)
# Transfers: files under ZENITH_TRANSFER_DIR/outgoing are what uploads read (schedulers
# place artefacts there); verified downlinks land under ZENITH_TRANSFER_DIR/incoming.
ZENITH_TRANSFER_DIR = Path(
    env_str("ZENITH_TRANSFER_DIR", str(VAR_DIR / "transfers")) or VAR_DIR / "transfers"
)
ZENITH_CHUNK_BYTES = env_int(
    "ZENITH_CHUNK_BYTES", 4 * 1024 * 1024, minimum=4096, maximum=64 * 1024 * 1024
)
ZENITH_MAX_CHUNKS = env_int("ZENITH_MAX_CHUNKS", 1_000_000, minimum=1)
# Uploads up to this size are hashed while the submit request waits (a wrong SHA-256 is
# a 400 at once); larger ones by a Celery task (a wrong one fails the transfer).
ZENITH_INLINE_HASH_BYTES = env_int("ZENITH_INLINE_HASH_BYTES", 64 * 1024 * 1024, minimum=0)
# The link: "simulated" or "module:factory" with its options as a JSON object.
ZENITH_LINK_DRIVER = env_str("ZENITH_LINK_DRIVER", "simulated") or "simulated"
ZENITH_LINK_OPTIONS: dict[str, Any] = env_parse("ZENITH_LINK_OPTIONS", {}, json_object)
ZENITH_SIM_DIR = Path(env_str("ZENITH_SIM_DIR", str(VAR_DIR / "sim")) or VAR_DIR / "sim")
# Contact runs are long tasks on their own queue, so predictions never delay an AOS.
ZENITH_LINK_QUEUE = env_str("ZENITH_LINK_QUEUE", "links") or "links"
ZENITH_CONTACT_LEASE_S = env_float("ZENITH_CONTACT_LEASE_S", 15.0, minimum=1.0)
ZENITH_DISPATCH_LEAD_S = env_float("ZENITH_DISPATCH_LEAD_S", 30.0, minimum=0.0)
ZENITH_DISPATCH_EVERY_S = env_float("ZENITH_DISPATCH_EVERY_S", 5.0, minimum=0.5)
ZENITH_REPLAN_EVERY_S = env_float("ZENITH_REPLAN_EVERY_S", 900.0, minimum=10.0)

# --- telemetry ---------------------------------------------------------------------
TELEMETRY_CHUNK_HOURS = env_int("TELEMETRY_CHUNK_HOURS", 6, minimum=1, maximum=24 * 7)
TELEMETRY_MAX_AGE_DAYS = env_int("TELEMETRY_MAX_AGE_DAYS", 30, minimum=1)
TELEMETRY_MAX_FUTURE_S = env_int("TELEMETRY_MAX_FUTURE_S", 300, minimum=0)
TELEMETRY_COMPRESS_AFTER_DAYS = env_int("TELEMETRY_COMPRESS_AFTER_DAYS", 7, minimum=1)
TELEMETRY_RAW_RETENTION_DAYS = env_int("TELEMETRY_RAW_RETENTION_DAYS", 35, minimum=1)
TELEMETRY_ROLLUP_1M_RETENTION_DAYS = env_int("TELEMETRY_ROLLUP_1M_RETENTION_DAYS", 400, minimum=1)
if TELEMETRY_RAW_RETENTION_DAYS <= TELEMETRY_MAX_AGE_DAYS:
    # Late samples are accepted up to MAX_AGE; their raw rows must still exist when the
    # rollup job re-aggregates the minute they fall in.
    raise ImproperEnvironment(
        "TELEMETRY_RAW_RETENTION_DAYS",
        f"must exceed TELEMETRY_MAX_AGE_DAYS ({TELEMETRY_MAX_AGE_DAYS})",
    )
TELEMETRY_UNKNOWN_METRICS = env_choice(
    "TELEMETRY_UNKNOWN_METRICS", "register", {"register", "refuse"}
)
TELEMETRY_MAX_BODY_BYTES = env_int("TELEMETRY_MAX_BODY_BYTES", 32 * 1024 * 1024, minimum=1024)
TELEMETRY_MAX_POINTS = env_int("TELEMETRY_MAX_POINTS", 500_000, minimum=1)
TELEMETRY_SYNCHRONOUS_COMMIT = env_bool("TELEMETRY_SYNCHRONOUS_COMMIT", True)
# --- mqtt (telemetry/README.md "MQTT") ------------------------------------------------
MQTT_URL = (
    env_url("MQTT_URL", schemes={"mqtt", "mqtts"}, default="mqtt://127.0.0.1:1883")
    or "mqtt://127.0.0.1:1883"
)
# A shared subscription: several bridges split the messages between them.
MQTT_TOPIC = (
    env_str("MQTT_TOPIC", "$share/zenith-ingest/zenith/+/telemetry")
    or "$share/zenith-ingest/zenith/+/telemetry"
)
MQTT_CLIENT_ID = env_str("MQTT_CLIENT_ID")
MQTT_SESSION_EXPIRY_S = env_int("MQTT_SESSION_EXPIRY_S", 86_400, minimum=0)
# One transaction holds at most this many messages / payload bytes.
MQTT_BATCH_MESSAGES = env_int("MQTT_BATCH_MESSAGES", 500, minimum=1, maximum=30_000)
MQTT_BATCH_BYTES = env_int("MQTT_BATCH_BYTES", 16 * 1024 * 1024, minimum=1024)
# Longest wait between two database checks while it is unavailable.
MQTT_RETRY_MAX_S = env_float("MQTT_RETRY_MAX_S", 10.0, minimum=0.1)
# Where the bridge writes the broker's password and ACL files (unset: it does not), how
# often it checks the tokens, and the broker's pid file to SIGHUP after a change.
_mqtt_auth_dir = env_str("MQTT_AUTH_DIR")
MQTT_AUTH_DIR = Path(_mqtt_auth_dir) if _mqtt_auth_dir else None
MQTT_AUTH_SYNC_S = env_float("MQTT_AUTH_SYNC_S", 5.0, minimum=0.1)
_mqtt_pid_path = env_str("MQTT_BROKER_PID_PATH")
MQTT_BROKER_PID_PATH = Path(_mqtt_pid_path) if _mqtt_pid_path else None
# The broker address handed to gateways with their credentials (default MQTT_URL).
MQTT_PUBLIC_URL = env_url("MQTT_PUBLIC_URL", schemes={"mqtt", "mqtts"}) or MQTT_URL
# /healthz and /metrics of this process report the broker's queue, drops and bridges.
MQTT_MONITOR = env_bool("MQTT_MONITOR", False)
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- alerts (ops.alerts; deploy/README.md lists each) ----------------------------------
ALERTS_QUEUE = env_str("ALERTS_QUEUE", "celery") or "celery"
ALERTS_DISPATCH_EVERY_S = env_float("ALERTS_DISPATCH_EVERY_S", 5.0, minimum=0.5)
ALERTS_ESCALATE_EVERY_S = env_float("ALERTS_ESCALATE_EVERY_S", 15.0, minimum=1.0)
ALERTS_STALENESS_EVERY_S = env_float("ALERTS_STALENESS_EVERY_S", 30.0, minimum=1.0)
ALERTS_MAX_SHELVE_H = env_int("ALERTS_MAX_SHELVE_H", 72, minimum=1)
# A worker's claim on a delivery: longer than one send (the webhook timeout), short enough
# that a dead worker's deliveries are picked up quickly.
ALERTS_CLAIM_LEASE_S = env_float("ALERTS_CLAIM_LEASE_S", 30.0, minimum=1.0)
ALERTS_WEBHOOK_TIMEOUT_S = env_float("ALERTS_WEBHOOK_TIMEOUT_S", 5.0, minimum=0.1)
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 8, minimum=1, maximum=100)
ALERTS_RETRY_BASE_S = env_float("ALERTS_RETRY_BASE_S", 5.0, minimum=0.01)
ALERTS_RETRY_MAX_S = env_float("ALERTS_RETRY_MAX_S", 900.0, minimum=0.01)
ALERTS_EMAIL_HOST = env_str("ALERTS_EMAIL_HOST", "localhost") or "localhost"
ALERTS_EMAIL_PORT = env_int("ALERTS_EMAIL_PORT", 25, minimum=1, maximum=65535)
ALERTS_EMAIL_USER = env_str("ALERTS_EMAIL_USER", "") or ""
ALERTS_EMAIL_PASSWORD = env_str("ALERTS_EMAIL_PASSWORD", "") or ""
ALERTS_EMAIL_USE_TLS = env_bool("ALERTS_EMAIL_USE_TLS", False)
ALERTS_EMAIL_FROM = env_str("ALERTS_EMAIL_FROM", "zenith-alerts@localhost") or ""
# Pass-aware staleness: a GEO hub silent this long is stale; a LEO node with no telemetry
# this long after a booked contact starts raises "no telemetry at AOS".
ALERTS_GEO_STALE_S = env_float("ALERTS_GEO_STALE_S", 300.0, minimum=1.0)
ALERTS_AOS_GRACE_S = env_float("ALERTS_AOS_GRACE_S", 120.0, minimum=1.0)
ALERTS_STALE_SEVERITY = env_choice(
    "ALERTS_STALE_SEVERITY", "distress", {"watch", "warning", "distress", "critical", "severe"}
)
