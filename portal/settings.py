"""Settings for the portal, read from the environment (12-factor), in commented sections.

Profiles: ``PORTAL_PROFILE`` is ``development`` (default), ``demo`` or ``production``. Only
production hardens cookies/TLS and refuses to start without a real secret key.
"""

import hashlib
import hmac
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# --- Profile and secrets --------------------------------------------------------------------
PORTAL_PROFILE = env.str("PORTAL_PROFILE", default="development")
if PORTAL_PROFILE not in {"development", "demo", "production"}:
    raise ImproperlyConfigured(
        f"PORTAL_PROFILE must be development, demo or production, not {PORTAL_PROFILE!r}"
    )
IS_PRODUCTION = PORTAL_PROFILE == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=PORTAL_PROFILE == "development")

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if IS_PRODUCTION or not (DEBUG or PORTAL_PROFILE == "demo"):
        # Failing loudly beats signing sessions with a key everyone can read in the repo.
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set outside development and demo")
    SECRET_KEY = "insecure-development-key-never-use-in-production-" + "x" * 20
if IS_PRODUCTION and SECRET_KEY.startswith("insecure-"):
    # The repository's own keys (development's, the demo's) sign nothing in production.
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is a key from the repository; set a real one")

# Keys that still verify what they signed (sessions) while a new SECRET_KEY takes over.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "tenants",
    "provisioning",
]

MIDDLEWARE = [
    # /healthz and /readyz, answered before sessions, host checks and sign-in (portal.health).
    "portal.health.HealthMiddleware",
    # The id of this request, for the logs, the tasks it enqueues and the cloud's own logs.
    "portal.request_ids.RequestIdMiddleware",
    # /metrics for Prometheus, and the latency and status of every other answer (portal.metrics).
    "portal.metrics.endpoint.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The cookie's or the browser's language; portal.preferences.PreferencesMiddleware then puts
    # the signed-in person's own choice over it.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.sessions.SessionLimitsMiddleware",
    "portal.two_factor.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.preferences.PreferencesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Data stores ----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web, worker and beat share one file. A transaction takes the write lock when it
    # begins (IMMEDIATE) and waits for it (timeout), instead of failing with "database is locked"
    # when two deferred transactions both try to upgrade; WAL lets readers go on meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # The list indexes carry their filter columns (INCLUDE) on PostgreSQL; SQLite builds them
    # without, which is all a newcomer's demo needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server, and a statement a connection has run this many times is
    # prepared: PostgreSQL then keeps its plan. Planning the access-filtered joins over the
    # resource tables (a dozen indexes each) cost 1-2 ms a query, more than running them.
    # 0 turns preparing off, for a pooler in transaction mode that cannot keep them.
    _prepare_after = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    if _prepare_after > 0:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": _prepare_after}
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Production shares one cache between processes (throttling, idempotency), in Redis db 1.
CACHES = {
    "default": env.cache_url(
        "CACHE_URL",
        default=REDIS_URL.rsplit("/", 1)[0].replace("redis://", "rediscache://") + "/1"
        if IS_PRODUCTION
        else "locmemcache://portal",
    ),
    # Who each caller is and what they may reach (tenants.access_memory), in each process's own
    # memory: keyed by the access generation, which every process reads from the database, so
    # nothing here is shared or needs to be.
    "access": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "portal-access",
        "TIMEOUT": env.int("PORTAL_ACCESS_MEMORY_SECONDS", default=300),
        "OPTIONS": {"MAX_ENTRIES": env.int("PORTAL_ACCESS_MEMORY_ENTRIES", default=20_000)},
    },
}

# --- Authentication and object permissions --------------------------------------------------
# The model backend comes first: it refuses locked names and addresses for every backend.
AUTHENTICATION_BACKENDS = [
    "portal.authentication.RememberingModelBackend",
    "portal.sso.ldap.DirectoryLDAPBackend",
    "portal.sso.oidc.DirectoryOIDCBackend",
    "guardian.backends.ObjectPermissionBackend",
]

# --- Single sign-on (portal.sso, docs/security.md) -------------------------------------------
# Local accounts (user names and passwords kept by the portal) can be switched off once the
# directory or the provider signs everyone in.
PORTAL_LOCAL_SIGN_IN = env.bool("PORTAL_LOCAL_SIGN_IN", default=True)
# LDAP / Active Directory: on when PORTAL_LDAP_URL is set.
PORTAL_LDAP_URL = env.str("PORTAL_LDAP_URL", default="")
if PORTAL_LDAP_URL:
    from portal.sso.config import ldap_settings

    globals().update(
        ldap_settings(
            url=PORTAL_LDAP_URL,
            bind_dn=env.str("PORTAL_LDAP_BIND_DN", default=""),
            bind_password=env.str("PORTAL_LDAP_BIND_PASSWORD", default=""),
            user_base=env.str("PORTAL_LDAP_USER_BASE"),
            user_filter=env.str("PORTAL_LDAP_USER_FILTER", default="(uid=%(user)s)"),
            group_base=env.str("PORTAL_LDAP_GROUP_BASE"),
            group_type=env.str("PORTAL_LDAP_GROUP_TYPE", default="groupOfNames"),
            start_tls=env.bool("PORTAL_LDAP_START_TLS", default=False),
        )
    )
# OpenID Connect: on when PORTAL_OIDC_CLIENT_ID is set.
PORTAL_OIDC_NAME = env.str("PORTAL_OIDC_NAME", default="the agency's sign-in")
PORTAL_OIDC_GROUPS_CLAIM = env.str("PORTAL_OIDC_GROUPS_CLAIM", default="groups")
PORTAL_OIDC_USERNAME_CLAIM = env.str("PORTAL_OIDC_USERNAME_CLAIM", default="preferred_username")
# The provider's own second factor counts: the portal asks for none after an OIDC sign-in.
PORTAL_2FA_TRUST_OIDC = env.bool("PORTAL_2FA_TRUST_OIDC", default=True)
if env.str("PORTAL_OIDC_CLIENT_ID", default=""):
    from portal.sso.config import oidc_settings

    globals().update(
        oidc_settings(
            issuer=env.str("PORTAL_OIDC_ISSUER"),
            client_id=env.str("PORTAL_OIDC_CLIENT_ID"),
            client_secret=env.str("PORTAL_OIDC_CLIENT_SECRET"),
            authorization_endpoint=env.str("PORTAL_OIDC_AUTHORIZATION_ENDPOINT", default=""),
            token_endpoint=env.str("PORTAL_OIDC_TOKEN_ENDPOINT", default=""),
            userinfo_endpoint=env.str("PORTAL_OIDC_USERINFO_ENDPOINT", default=""),
            jwks_endpoint=env.str("PORTAL_OIDC_JWKS_ENDPOINT", default=""),
            scopes=env.str("PORTAL_OIDC_SCOPES", default="openid profile email"),
        )
    )
# How often every directory account is looked up again (seconds).
PORTAL_DIRECTORY_SYNC_EVERY = env.float("PORTAL_DIRECTORY_SYNC_EVERY", default=900.0)

# Lockout (portal.lockout): failed sign-ins within the window lock the user name, or the client
# address, for PORTAL_LOCKOUT_SECONDS. The address is X-Forwarded-For's only when the direct
# peer is one of PORTAL_TRUSTED_PROXIES (addresses or CIDRs of the load balancers).
PORTAL_LOCKOUT_USER_FAILURES = env.int("PORTAL_LOCKOUT_USER_FAILURES", default=5)
PORTAL_LOCKOUT_ADDRESS_FAILURES = env.int("PORTAL_LOCKOUT_ADDRESS_FAILURES", default=20)
PORTAL_LOCKOUT_WINDOW_SECONDS = env.int("PORTAL_LOCKOUT_WINDOW_SECONDS", default=15 * 60)
PORTAL_LOCKOUT_SECONDS = env.int("PORTAL_LOCKOUT_SECONDS", default=15 * 60)
PORTAL_TRUSTED_PROXIES = env.list("PORTAL_TRUSTED_PROXIES", default=[])
# Roles that must sign in with a second factor (portal.two_factor): any of operator, auditor,
# officer, or everyone. Others may set one up.
PORTAL_2FA_REQUIRED_FOR = env.list(
    "PORTAL_2FA_REQUIRED_FOR", default=["operator", "auditor", "officer"]
)
OTP_TOTP_ISSUER = env.str("PORTAL_2FA_ISSUER", default="IaaS self-service portal")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# The portal never grants anything to anonymous users; guardian still wants the row to exist.
GUARDIAN_RAISE_403 = False
GUARDIAN_MONKEY_PATCH_USER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "portal.production.NotTheDemoPasswordValidator"},
]

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Personal tokens first, so an unauthenticated call answers 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.api.permissions.TokenScopePermission",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "portal.api.filtering.PortalFilterBackend",
        "portal.api.ordering.StableOrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.throttling.PortalUserRateThrottle",
        "portal.api.throttling.PortalAnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("PORTAL_API_RATE_USER", default="1200/min"),
        "anon": env.str("PORTAL_API_RATE_ANON", default="60/min"),
        # Exchanging a password for a token (POST /api/v1/tokens/ with HTTP Basic).
        "credentials": env.str("PORTAL_API_RATE_CREDENTIALS", default="10/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IaaS self-service portal API",
    "DESCRIPTION": (
        "Request, approve and manage VMs and networks across sites and domains. "
        "Authenticate with a personal token (`Authorization: Bearer ptk_...`); see docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links: Swagger UI puts them inside each operation's toggle button, a link inside a
    # button that screen readers and keyboards cannot reach (axe's nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "defaultModelsExpandDepth": 0},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "provisioning.models.requests.RequestState",
        "RequestKindEnum": "provisioning.models.requests.Kind",
        "ApprovalStageEnum": "provisioning.models.requests.Stage",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Every task is idempotent, so it is safe to acknowledge only after it ran and to hand the
# message back when a worker dies mid-task.
CELERY_TASK_ACKS_LATE = True
# The worker logs through LOGGING (JSON, with the request id) instead of its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest task (tasks poll by re-scheduling, never by blocking), or Redis would
# redeliver a message that is still being worked on.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
# Redis Sentinel (CELERY_BROKER_URL=sentinel://host:26379;sentinel://...): the name of the
# master the sentinels watch, which the URL cannot say (docs/deployment.md).
CELERY_BROKER_SENTINEL_MASTER = env.str("CELERY_BROKER_SENTINEL_MASTER", default="")
if CELERY_BROKER_SENTINEL_MASTER:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = CELERY_BROKER_SENTINEL_MASTER
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (
    Queue("default", Exchange("default"), routing_key="default"),
    Queue("provisioning", Exchange("provisioning"), routing_key="provisioning"),
    Queue("periodic", Exchange("periodic"), routing_key="periodic"),
)
CELERY_TASK_ROUTES = {
    "provisioning.tasks.notify": {"queue": "default"},
    "provisioning.tasks.periodic_*": {"queue": "periodic"},
    "portal.tasks.periodic_*": {"queue": "periodic"},
    "provisioning.tasks.*": {"queue": "provisioning"},
}
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Cloud ----------------------------------------------------------------------------------
CLOUDS_YAML = env.str("CLOUDS_YAML", default=str(VAR_DIR / "clouds.yaml"))

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
# The file backend's folder (django.core.mail.backends.filebased.EmailBackend): the demo's mail log.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# NATO's two official languages, each named in itself (the switch offers the other one).
LANGUAGES = [("en-gb", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"  # what is stored and what the API and reports speak
# The zone pages are shown in for someone who has not chosen one (portal.preferences).
PORTAL_DEFAULT_TIME_ZONE = env.str("PORTAL_DEFAULT_TIME_ZONE", default="Europe/Brussels")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------------------------
# Content-Security-Policy (django-csp): scripts and styles from the portal's own files only,
# no inline script, no inline style (colours and widths are classes: portal_tags, markings.css).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SESSION_COOKIE_HTTPONLY = True
# A session ends after this long without a request, and after the second figure in any case.
PORTAL_SESSION_IDLE_SECONDS = env.int("PORTAL_SESSION_IDLE_SECONDS", default=30 * 60)
PORTAL_SESSION_MAX_SECONDS = env.int("PORTAL_SESSION_MAX_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = PORTAL_SESSION_MAX_SECONDS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    # TLS terminates at the load balancer, which sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Metrics --------------------------------------------------------------------------------
# /metrics answers a caller with "Authorization: Bearer <token>" or from these networks.
PORTAL_METRICS_TOKEN = env.str("PORTAL_METRICS_TOKEN", default="")
PORTAL_METRICS_ALLOW = env.list("PORTAL_METRICS_ALLOW", default=["127.0.0.1/32", "::1/128"])
# Where the cluster-wide counters (tasks, request transitions) are kept; empty: not kept.
PORTAL_METRICS_REDIS_URL = env.str("PORTAL_METRICS_REDIS_URL", default=REDIS_URL)
# The database's and the broker's figures are read at most this often (seconds).
PORTAL_METRICS_CACHE_SECONDS = env.float("PORTAL_METRICS_CACHE_SECONDS", default=10.0)

# --- Logging --------------------------------------------------------------------------------
# One JSON object per line with the work's request id on every record (portal.logs); "plain"
# prints the same as text, for a terminal.
PORTAL_LOG_FORMAT = env.str("PORTAL_LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "portal.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if PORTAL_LOG_FORMAT == "plain" else "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The PDF renderer narrates each step of each report at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Audit ----------------------------------------------------------------------------------
# Events are appended unsealed and chained by one sealer: right after each commit, in the
# process that committed, and every PORTAL_AUDIT_SEAL_EVERY seconds (beat) to catch up.
PORTAL_AUDIT_SEAL_ON_COMMIT = env.bool("PORTAL_AUDIT_SEAL_ON_COMMIT", default=True)
# A busy process seals after a commit at most this often (seconds); one run seals everything.
PORTAL_AUDIT_SEAL_MIN_INTERVAL = env.float("PORTAL_AUDIT_SEAL_MIN_INTERVAL", default=1.0)
PORTAL_AUDIT_SEAL_EVERY = env.float("PORTAL_AUDIT_SEAL_EVERY", default=5.0)
# How often the chain's head is checkpointed (seconds): events deleted from the tail since the
# last checkpoint are what a checkpoint cannot show.
PORTAL_AUDIT_CHECKPOINT_EVERY = env.float("PORTAL_AUDIT_CHECKPOINT_EVERY", default=60.0)
# Where signed checkpoints of the chain's head go: "file:<path>", "syslog" or
# "syslog:<socket path or host:port>" (facility auth). Keep it where database administrators
# cannot write: it is what shows a truncated or rewritten chain (docs/audit.md).
PORTAL_AUDIT_CHECKPOINT_SINK = env.str(
    "PORTAL_AUDIT_CHECKPOINT_SINK", default="file:" + str(VAR_DIR / "audit" / "checkpoints.log")
)
# The HMAC key signing checkpoints; never stored in the database. Outside production it is
# derived from the secret key; production sets its own, so the two can be held apart.
PORTAL_AUDIT_CHECKPOINT_KEY = env.str("PORTAL_AUDIT_CHECKPOINT_KEY", default="")
if not PORTAL_AUDIT_CHECKPOINT_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("PORTAL_AUDIT_CHECKPOINT_KEY must be set in production")
    PORTAL_AUDIT_CHECKPOINT_KEY = hmac.new(
        SECRET_KEY.encode(), b"portal.audit.checkpoint-key", hashlib.sha256
    ).hexdigest()

# --- Provisioning ---------------------------------------------------------------------------
PORTAL_MAX_SERVERS_PER_REQUEST = env.int("PORTAL_MAX_SERVERS_PER_REQUEST", default=10)
# The largest volume (GB) a unit may request of a type with no limit of its own (admin).
PORTAL_VOLUME_MAX_GB = env.int("PORTAL_VOLUME_MAX_GB", default=2000)
# How long a request may stay in provisioning before it is failed with a readable reason.
PORTAL_PROVISIONING_DEADLINE = env.int("PORTAL_PROVISIONING_DEADLINE", default=1800)
# Polling a build: first delay and cap (seconds); far below the broker's visibility timeout.
PORTAL_POLL_FIRST = env.float("PORTAL_POLL_FIRST", default=2.0)
PORTAL_POLL_MAX = env.float("PORTAL_POLL_MAX", default=30.0)
# Work leases (provisioning.services.work): a worker renews the lease of the request it is
# moving on every third of PORTAL_LEASE_SECONDS; a lease that lapsed (a dead worker) is
# re-driven by the sweeper, which runs every PORTAL_LEASE_SWEEP_EVERY seconds. A message not
# picked up within PORTAL_LEASE_QUEUE_GRACE seconds of being due (lost with the broker, held
# by a dead worker) is sent again.
PORTAL_LEASE_SECONDS = env.float("PORTAL_LEASE_SECONDS", default=15.0)
PORTAL_LEASE_QUEUE_GRACE = env.float("PORTAL_LEASE_QUEUE_GRACE", default=20.0)
PORTAL_LEASE_SWEEP_EVERY = env.float("PORTAL_LEASE_SWEEP_EVERY", default=5.0)
# The outbox (portal.outbox): relay right after commit, and every PORTAL_OUTBOX_RELAY_EVERY
# seconds whatever is older than PORTAL_OUTBOX_RELAY_GRACE seconds (the broker was down).
PORTAL_OUTBOX_RELAY_ON_COMMIT = env.bool("PORTAL_OUTBOX_RELAY_ON_COMMIT", default=True)
PORTAL_OUTBOX_RELAY_EVERY = env.float("PORTAL_OUTBOX_RELAY_EVERY", default=5.0)
# Health (portal.health): the schedule's heartbeat every PORTAL_HEARTBEAT_EVERY seconds, late
# past PORTAL_HEARTBEAT_STALE; a check of the broker gives up after PORTAL_HEALTH_TIMEOUT.
PORTAL_HEARTBEAT_EVERY = env.float("PORTAL_HEARTBEAT_EVERY", default=30.0)
PORTAL_HEARTBEAT_STALE = env.float("PORTAL_HEARTBEAT_STALE", default=120.0)
PORTAL_HEALTH_TIMEOUT = env.float("PORTAL_HEALTH_TIMEOUT", default=2.0)
PORTAL_OUTBOX_RELAY_GRACE = env.float("PORTAL_OUTBOX_RELAY_GRACE", default=5.0)
PORTAL_LEASE_WARNING_DAYS = env.int("PORTAL_LEASE_WARNING_DAYS", default=3)
# How often the reconciler compares every region's cloud with the portal (seconds).
PORTAL_RECONCILE_EVERY = env.float("PORTAL_RECONCILE_EVERY", default=60.0)
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000")
CLOUD_API_TIMEOUT = env.float("CLOUD_API_TIMEOUT", default=30.0)
# Push allocation quotas to Nova and Neutron (needs an account allowed to set quotas).
PORTAL_PUSH_QUOTAS = env.bool("PORTAL_PUSH_QUOTAS", default=True)
# Lists count their rows exactly up to this many, then say "10,000+" (and page numbers stop
# there: deeper pages are reached with cursors). See portal/pagination.py.
PORTAL_LIST_COUNT_CAP = env.int("PORTAL_LIST_COUNT_CAP", default=10_000)
# A list's count of at least this many rows is kept this long (0: always counted).
PORTAL_LIST_COUNT_REMEMBER_FROM = env.int("PORTAL_LIST_COUNT_REMEMBER_FROM", default=1_000)
PORTAL_LIST_COUNT_MEMORY_SECONDS = env.int("PORTAL_LIST_COUNT_MEMORY_SECONDS", default=30)
# Availability probes (provisioning.services.availability): every region's cloud is asked for a
# token and one cheap list per service this often (seconds); each call gives up after
# PORTAL_PROBE_TIMEOUT; an incident opens after PORTAL_PROBE_INCIDENT_AFTER failed probes in a
# row; single checks are kept PORTAL_PROBE_RETENTION_DAYS (the hourly rollups and incidents stay).
PORTAL_PROBE_EVERY = env.float("PORTAL_PROBE_EVERY", default=60.0)
PORTAL_PROBE_TIMEOUT = env.float("PORTAL_PROBE_TIMEOUT", default=10.0)
PORTAL_PROBE_INCIDENT_AFTER = env.int("PORTAL_PROBE_INCIDENT_AFTER", default=2)
PORTAL_PROBE_RETENTION_DAYS = env.int("PORTAL_PROBE_RETENTION_DAYS", default=35)
# Deadlines (provisioning.services.deadlines): the approvers of a waiting stage are reminded at
# these fractions of the decision target, its tenant's managers told when it is breached, and
# the operators at PORTAL_ESCALATE_TO_OPERATORS_AT times the target; checked every
# PORTAL_DEADLINE_SWEEP_EVERY seconds.
PORTAL_DEADLINE_REMINDERS = tuple(
    float(f) for f in env.list("PORTAL_DEADLINE_REMINDERS", default=["0.5", "0.9"])
)
PORTAL_ESCALATE_TO_OPERATORS_AT = env.float("PORTAL_ESCALATE_TO_OPERATORS_AT", default=1.5)
PORTAL_DEADLINE_SWEEP_EVERY = env.float("PORTAL_DEADLINE_SWEEP_EVERY", default=60.0)
# The contract's monthly SLA report (provisioning.monthly): a PDF made on the 1st for the month
# before and mailed to these addresses (comma-separated; none: kept, not mailed), in this language.
PORTAL_MONTHLY_REPORT_RECIPIENTS = env.list("PORTAL_MONTHLY_REPORT_RECIPIENTS", default=[])
PORTAL_MONTHLY_REPORT_LANGUAGE = env.str("PORTAL_MONTHLY_REPORT_LANGUAGE", default="en-gb")
# SLA targets the reports measure against (seconds).
PORTAL_SLA_DECISION_SECONDS = env.int("PORTAL_SLA_DECISION_SECONDS", default=8 * 3600)
PORTAL_SLA_BUILD_SECONDS = env.int("PORTAL_SLA_BUILD_SECONDS", default=30 * 60)

# --- Periodic jobs --------------------------------------------------------------------------
# Installed into the database scheduler at beat start-up; operators can tune them in the admin.
CELERY_BEAT_SCHEDULE = {
    "reconcile": {
        "task": "provisioning.tasks.periodic_reconcile",
        "schedule": PORTAL_RECONCILE_EVERY,
    },
    "redrive-lapsed": {
        "task": "provisioning.tasks.periodic_redrive_lapsed",
        "schedule": PORTAL_LEASE_SWEEP_EVERY,
    },
    "outbox-relay": {
        "task": "portal.tasks.periodic_relay_outbox",
        "schedule": PORTAL_OUTBOX_RELAY_EVERY,
    },
    "leases": {"task": "provisioning.tasks.periodic_leases", "schedule": 300.0},
    "catalog": {"task": "provisioning.tasks.periodic_sync_catalog", "schedule": 3600.0},
    "probe": {"task": "provisioning.tasks.periodic_probe", "schedule": PORTAL_PROBE_EVERY},
    "deadlines": {
        "task": "provisioning.tasks.periodic_deadlines",
        "schedule": PORTAL_DEADLINE_SWEEP_EVERY,
    },
    "delegations": {"task": "tenants.tasks.periodic_delegations", "schedule": 60.0},
    "monthly-report": {
        "task": "provisioning.tasks.monthly_report",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    "probe-retention": {"task": "provisioning.tasks.periodic_purge_probes", "schedule": 3600.0},
    # The dashboard's kept demand per region and hour, checked against the requests.
    "demand-recheck": {
        "task": "provisioning.tasks.periodic_demand_recheck",
        "schedule": crontab(minute=15),
    },
    # Showback: the spans caught up and yesterday's consumption computed, shortly after midnight
    # UTC (a day not computed yet is read from the spans meanwhile).
    "showback": {
        "task": "provisioning.tasks.periodic_showback",
        "schedule": crontab(minute=20, hour=0),
    },
    "idempotency-keys": {
        "task": "portal.tasks.periodic_purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "directory-sync": {
        "task": "portal.tasks.periodic_directory_sync",
        "schedule": PORTAL_DIRECTORY_SYNC_EVERY,
    },
    "audit-seal": {"task": "portal.tasks.periodic_audit_seal", "schedule": PORTAL_AUDIT_SEAL_EVERY},
    "heartbeat": {"task": "portal.tasks.periodic_heartbeat", "schedule": PORTAL_HEARTBEAT_EVERY},
    "audit-checkpoint": {
        "task": "portal.tasks.periodic_audit_checkpoint",
        "schedule": PORTAL_AUDIT_CHECKPOINT_EVERY,
    },
}
