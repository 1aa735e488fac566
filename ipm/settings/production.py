"""Production: secrets and hosts must come from the environment; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
IPM_PRODUCTION = True
SECRET_KEY = env.str("SECRET_KEY")  # no default: fail loudly when it is missing
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# The audit chain's key lives outside the database: no default here.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY")
if len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters of random data.")
# The cohort export's pseudonyms and date shifts: never the development default. Without
# its own key it is derived from the audit key (stable while that is).
IPM_DEID_SECRET = env.str("IPM_DEID_SECRET", default="") or f"deid:{AUDIT_HMAC_KEY}"

# On PostgreSQL a snapshot's periods are computed two at a time (metrics.services).
IPM_METRICS_PARALLEL = env.int("IPM_METRICS_PARALLEL", default=2)

WHITENOISE_USE_FINDERS = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
