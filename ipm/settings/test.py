"""Test settings: fast hashers, in-memory email, and whatever database DATABASE_URL names."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SMS_BACKEND = "reminders.sms.MemoryBackend"
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"token": "1000/min", "questionnaire_link": "1000/min"}  # nosec B105 - throttle rates, not passwords
# Unit tests run tasks inline when their on_commit callbacks fire; the real worker is
# exercised by tests/ipm/test_worker.py (Redis + a celery worker subprocess).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
if env.bool("IPM_WORKER_NOT_EAGER", default=False):  # noqa: F405 - a real worker process
    CELERY_TASK_ALWAYS_EAGER = False
# Tests that exercise lock-out and admin 2FA switch these on themselves
# (tests/ipm/test_security.py); elsewhere client.login() and force_login() just work.
AXES_ENABLED = False
IPM_ADMIN_2FA_REQUIRED = False
# The replica alias is added by tests/ipm/test_replica.py itself (pointing at the standby's
# copy of the test database); pytest-django must not try to create a database on a standby.
DATABASES.pop("replica", None)  # noqa: F405
