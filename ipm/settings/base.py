"""Settings shared by every environment, read from the environment through django-environ.

Every variable is documented in the README ("Configuration"). Defaults are the embedded
development shape: SQLite under var/ and kombu's filesystem broker under var/, so a real
Celery worker and beat run without any server.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("IPM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
DEBUG = env.bool("DEBUG", default=False)
# True only in ipm.settings.production: commands that must never run there check it
# (demo_data creates users with known passwords).
IPM_PRODUCTION = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # API tokens stored hashed, with an expiry (ipm.api_auth)
    "django_filters",
    "drf_spectacular",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # single-use recovery codes (stored as keyed hashes)
    "csp",
    "ipm",
    "patients",
    "referrals",
    "visits",
    "outcomes",
    "reminders",
    "appointments",
    "metrics",
    "care",
    "clinic",
    "fhir_api",
    "team",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ipm.middleware.ApiAppendSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ipm.middleware.RejectNulMiddleware",  # PostgreSQL text cannot hold NUL: 400, not 500
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ipm.middleware.LoginRequiredMiddleware",
    "ipm.middleware.TwoFactorMiddleware",
    "ipm.middleware.IntegrationOnlyMiddleware",
    "ipm.audit.AuditContextMiddleware",
    "ipm.db.replica.PrimaryPinMiddleware",  # read-your-writes when a replica serves reads
    "ipm.middleware.NoStoreMiddleware",  # Cache-Control: no-store on patient data
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes last, as its docs ask: it turns a lock-out into the lock-out response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ipm.urls"
WSGI_APPLICATION = "ipm.wsgi.application"
ASGI_APPLICATION = "ipm.asgi.application"

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
                "team.readiness.readiness_context",
                "ipm.roles.roles_context",
            ],
            "builtins": ["ipm.templatetags.ipm_tags", "outcomes.templatetags.labels"],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ipm.sqlite3'}")}
DATABASE_CONNECT_RETRY_SECONDS = env.float("DATABASE_CONNECT_RETRY_SECONDS", default=5.0)
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions let the web process and the worker share the file
    # without "database is locked" errors on the embedded default.
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, subclassed to wait out a brief database restart (see its docstring).
    _db["ENGINE"] = "ipm.db.backends.postgresql"
    # PostgreSQL's JIT compiles the metric queries' plans for longer than it saves (2.3 s of
    # 5.0 s at 100k patients); the app's statements are OLTP-sized or pre-aggregated.
    _db.setdefault("OPTIONS", {})["options"] = env("DATABASE_PG_OPTIONS", default="-c jit=off")
    if env.bool("DATABASE_POOL", default=False):
        # psycopg 3's pool through Django's native support (Django >= 5.1).
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            "timeout": 10,
        }
        _db["CONN_MAX_AGE"] = 0
    else:
        _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        _db["CONN_HEALTH_CHECKS"] = True
# A streaming replica for dashboards, exports and metric computation (ipm/db/replica.py).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"].update(ENGINE=_db["ENGINE"], CONN_MAX_AGE=_db.get("CONN_MAX_AGE", 0),
                                CONN_HEALTH_CHECKS=True)
DATABASE_ROUTERS = ["ipm.db.replica.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=30)
DATABASE_REPLICA_PIN_SECONDS = env.float("DATABASE_REPLICA_PIN_SECONDS", default=10)
DATABASE_REPLICA_RETRY_SECONDS = env.float("DATABASE_REPLICA_RETRY_SECONDS", default=30)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and sessions ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling and lock-out (django-axes, ipm.lockout): 5 failures for one username from
# one address lock that pair for 15 minutes; 20 failures from one address, whatever the
# usernames, lock that address (credential stuffing).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "ipm.lockout.LockoutHandler"
AXES_LOCKOUT_CALLABLE = "ipm.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "ipm.net.client_address"
IPM_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("IPM_LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
# How many reverse proxies in front of the app append to X-Forwarded-For (ipm.net): 0 means
# the header is ignored and the peer address is the client. Audit, lock-out and throttles
# all read the client address through ipm.net.client_address.
IPM_TRUSTED_PROXY_COUNT = env.int("IPM_TRUSTED_PROXY_COUNT", default=0)
# Two-factor (django-otp TOTP): required for admins, optional for everyone else. The
# local demo (make run) turns the requirement off so a first look needs no phone app.
IPM_ADMIN_2FA_REQUIRED = env.bool("IPM_ADMIN_2FA_REQUIRED", default=True)
OTP_TOTP_ISSUER = "IPM"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Sessions live in the database, so any web process can serve any request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout: each request pushes expiry forward
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- I18N / time ------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")  # the program's own time zone
USE_I18N = True
USE_TZ = True

# --- Static -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = True  # serve vendored assets straight from static/ in dev and tests
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an unauthenticated API call gets 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ipm.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # The permission table (ipm.roles.PERMISSIONS) for every view; a view that names no
    # permission falls back to "any role", never to "any signed-in user".
    "DEFAULT_PERMISSION_CLASSES": ["ipm.roles.HasRole"],
    # JSON with a nesting limit (a 5,000-deep body is a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "ipm.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "ipm.api.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "ipm.openapi.AutoSchema",  # documents the error answers
    "EXCEPTION_HANDLER": "ipm.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Generous per-address ceilings: password guessing is stopped by axes lock-out, and
        # link tokens carry 256 bits; these only cap scanning and runaway clients.
        "token": env.str("THROTTLE_TOKEN", default="300/min"),
        "questionnaire_link": env.str("THROTTLE_QUESTIONNAIRE_LINK", default="300/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (django-rest-knox): only a SHA-512 digest is stored; each expires after
# API_TOKEN_TTL_HOURS and all of a user's end on password change or deactivation
# (ipm.accounts). Clients keep sending `Authorization: Token <token>`.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=24)),
    "TOKEN_LIMIT_PER_USER": None,  # nosec B105 - no per-user cap on tokens, not a password
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IPM API",
    "DESCRIPTION": (
        "Integrated pain management program API. Authenticate with "
        "`POST /api/auth/token/` and send `Authorization: Token <token>`. "
        "Errors are JSON `{message, errors: {field: [..]}}`; 400 bad input, 401/403 auth, "
        "404, 409 conflict (invalid transition, duplicate)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the drf-spectacular-sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PathwayEnum": "patients.models.Pathway",
        "RiskGroupEnum": "patients.models.RiskGroup",
        "ReferralStatusEnum": "referrals.models.Referral.Status",
        "ContactKindEnum": "care.models.Contact.Kind",
        "GoalStatusEnum": "care.models.Goal.Status",
        "SafetyAlertKindEnum": "outcomes.models.SafetyAlert.Kind",
        "SafetyAlertStatusEnum": "outcomes.models.SafetyAlert.Status",
        "SafetyAlertActionEnum": "outcomes.models.SafetyAlert.Action",
        "CssrsRiskEnum": "outcomes.models.SafetyAlert.Risk",
    },
}

# Content Security Policy: scripts only from our own origin (no inline scripts anywhere;
# data for charts travels in json_script blocks). Inline style attributes are allowed
# because Bootstrap components and Chart.js set them.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The Django admin gets the same policy: its templates carry no inline scripts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- Cache (throttling, rate limits) ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Short timeouts: with Redis unreachable, throttles fall back within a second
    # (ipm.throttling) instead of holding the request.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "ipm_cache"}}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.rstrip("/") == "filesystem:":
    # kombu warns "No hostname was supplied" on every connection without one; the
    # filesystem transport ignores it, so name it and keep the worker's log quiet.
    CELERY_BROKER_URL = "filesystem://localhost//"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker turns anything printed (the console email backend's messages) into log lines:
# at INFO, not as WARNINGs an operator would chase.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must not hang on a dead broker: fail fast and park the task (ipm.queue).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One readable table: each entry says why it runs when it does. Apps own their tasks.
CELERY_BEAT_SCHEDULE = {
    # Due reminders are claimed in batches; every minute keeps 48 h / 2 h reminders on time.
    "reminders-dispatch": {"task": "reminders.tasks.dispatch_due", "schedule": 60.0},
    # Unacknowledged safety alerts escalate after N working hours; a 5-minute sweep is
    # precise enough for a 4-hour threshold.
    "outcomes-escalate-alerts": {"task": "outcomes.tasks.escalate_alerts", "schedule": 300.0},
    # Questionnaire-due reminders are planned once a day, early, before the 08:00 send.
    "outcomes-plan-due": {"task": "outcomes.tasks.plan_due_questionnaires",
                          "schedule": crontab(hour=6, minute=0)},
    # Completion is set when a series has ended; hourly is plenty.
    "visits-complete-series": {"task": "visits.tasks.complete_ended_series",
                               "schedule": crontab(minute=15)},
    # Coordinators get the SLA-breach digest each weekday morning.
    "referrals-sla-digest": {"task": "referrals.tasks.sla_breach_digest",
                             "schedule": crontab(hour=7, minute=30, day_of_week="1-5")},
    # Daily metric snapshots after midnight, when the previous day is complete.
    "metrics-daily-snapshot": {"task": "metrics.tasks.compute_snapshot",
                               "schedule": crontab(hour=1, minute=0)},
    # The responder roll-ups catch up with new responses, intakes and attendance; the metrics
    # read live until they have, so the interval sets speed, never correctness.
    "metrics-refresh-rollups": {"task": "metrics.tasks.refresh_rollups", "schedule": 300.0},
    # Tasks parked while the broker was down go out as soon as it is back.
    "requeue-parked-tasks": {"task": "ipm.tasks.requeue_tasks", "schedule": 60.0},
    # Seal new audit rows into the hash chain.
    "audit-seal": {"task": "ipm.tasks.seal_audit_chain", "schedule": 60.0},
    # Export files (bulk NDJSON, cohort CSV, letter batches) are deleted once they expire;
    # hourly keeps them at most an hour past IPM_EXPORT_TTL_HOURS.
    "fhir-expire-exports": {"task": "fhir.expire_exports", "schedule": crontab(minute=40)},
}

# --- Email and SMS ----------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="IPM program <no-reply@ipm.local>")
SMS_BACKEND = env.str("SMS_BACKEND", default="reminders.sms.FileBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", default="")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
# Absolute base for links in messages (questionnaire links, stop links).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Reminders outbox (reminders/dispatch.py): rows claimed per batch, provider attempts before
# `failed`, retry backoff base (scheduled_for = now + base * 2**attempts), how long a claim
# may go unfinished before another pass takes it back, and the patient SMS quiet hours.
REMINDERS_BATCH_SIZE = env.int("REMINDERS_BATCH_SIZE", default=200)
REMINDERS_MAX_ATTEMPTS = env.int("REMINDERS_MAX_ATTEMPTS", default=5)
REMINDERS_RETRY_BASE_SECONDS = env.int("REMINDERS_RETRY_BASE_SECONDS", default=60)
REMINDERS_VISIBILITY_SECONDS = env.int("REMINDERS_VISIBILITY_SECONDS", default=600)
REMINDERS_PASS_SECONDS = env.int("REMINDERS_PASS_SECONDS", default=50)
REMINDERS_PARALLEL_PASSES = env.int("REMINDERS_PARALLEL_PASSES", default=2)  # fan-out on a backlog
REMINDERS_QUIET_HOURS = (21, 8)  # no patient SMS from 21:00 to 08:00 local time
REMINDERS_SEND_DELAY_SECONDS = env.float("REMINDERS_SEND_DELAY_SECONDS", default=0.0)  # tests only

# --- Program rules (configurable) --------------------------------------------------------
# A metrics snapshot computes its period, the previous period and each week: with N > 1 these
# run on N database connections at once (PostgreSQL; the embedded SQLite stays at 1).
IPM_METRICS_PARALLEL = env.int("IPM_METRICS_PARALLEL", default=1)
IPM_QUESTIONNAIRE_LINK_DAYS = env.int("IPM_QUESTIONNAIRE_LINK_DAYS", default=14)
# After a safety-alert call with no answer, when the worklist asks to try again (docs/product.md §7).
IPM_ALERT_RETRY_MINUTES = env.int("IPM_ALERT_RETRY_MINUTES", default=60)
# Safety-alert escalation delay, working hours and holidays are program settings now
# (Program.escalation_hours, working_hours, holiday_country/region: /team/program/).

# --- Systems around the program: FHIR (SPEC §10) --------------------------------------------
# The base of IPM's own code systems and canonical URLs, and the MRN identifier system the
# partner systems use (blank: one system per program under the base). Patients created by
# referrals in go to the site with this code (blank: the program's first site).
IPM_FHIR_BASE = env.str("IPM_FHIR_BASE", default="https://ipm.example/fhir")
IPM_FHIR_MRN_SYSTEM = env.str("IPM_FHIR_MRN_SYSTEM", default="")
IPM_FHIR_DEFAULT_SITE = env.str("IPM_FHIR_DEFAULT_SITE", default="")
# Bulk exports, cohort CSVs and letter batches: where the worker writes the files, and how
# long they are kept (a periodic task deletes them after).
IPM_EXPORT_DIR = env.str("IPM_EXPORT_DIR", default=str(VAR_DIR / "exports"))
IPM_EXPORT_TTL_HOURS = env.int("IPM_EXPORT_TTL_HOURS", default=24)
# Keys the de-identified cohort's pseudonyms and per-patient date shifts (stable across
# exports while it is unchanged). Derived from AUDIT_HMAC_KEY in production unless set.
IPM_DEID_SECRET = env.str("IPM_DEID_SECRET", default="dev-only-deid-secret-not-for-production")

# --- Audit trail tamper evidence (ipm/audit.py, issue 16 §5) ------------------------------
# The chain is keyed with HMAC-SHA256: whoever can write the database but does not hold this
# key cannot re-hash an edited chain. Required in production; the default is for dev/tests.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="dev-only-audit-hmac-key-not-for-production")
# Every seal appends the chain head (seal sequence, hash) here and logs it: a copy outside
# the database that `verify_audit_chain --checkpoint` compares against.
AUDIT_CHECKPOINT_FILE = env.str("AUDIT_CHECKPOINT_FILE",
                                default=str(VAR_DIR / "audit-checkpoints.log"))
# A committed row still unsealed after this long fails verification (beat seals every 60 s).
AUDIT_SEAL_GRACE_SECONDS = env.int("AUDIT_SEAL_GRACE_SECONDS", default=600)

# Every handler masks link tokens and search terms (ipm/redact.py). Django's own handlers
# (runserver's django.server, mail_admins) are redefined here with the filter, so that a
# second logging setup keeps it; "django" logs through the root console (no second copy in
# DEBUG). IpmConfig.ready() also installs a record factory for handlers added later.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "ipm.redact.RedactingFilter"},
        "refusal_without_traceback": {"()": "ipm.logfilters.RefusalWithoutTraceback"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {"()": "django.utils.log.ServerFormatter",
                          "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["redact"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server",
                          "level": "INFO", "filters": ["redact"]},
        "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "level": "ERROR",
                        "filters": ["require_debug_false", "redact"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # A 403 is one line, not a traceback (ipm/logfilters.py).
        "django.request": {"filters": ["refusal_without_traceback"]},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint (letters) and its font subsetting log every rendering step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
