"""Settings for the real Celery worker that tests/reminders/test_crash.py starts: the test
settings, except that the worker is not eager and sends email to the test's SMTP server.
The dispatcher's knobs (REMINDERS_SEND_DELAY_SECONDS, REMINDERS_VISIBILITY_SECONDS) come
from the environment through ipm/settings/base.py."""

import os

from ipm.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["IPM_TEST_SMTP_PORT"])
EMAIL_USE_TLS = False
