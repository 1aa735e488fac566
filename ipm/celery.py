"""The Celery app `ipm`: `celery -A ipm worker`, `celery -A ipm beat`.

Configuration comes from Django settings under the CELERY_ namespace (JSON only, acks late,
prefetch 1). Tasks take ids, never patient data.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipm.settings.local")

app = Celery("ipm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
