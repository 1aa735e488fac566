"""What an operator reads: each line once, a refusal without a traceback, no kombu warning
about a hostname with the filesystem broker, printed output from the worker at INFO.

Runs the app's logging in a fresh process with the settings `make run` uses, as an
operator would see it on the terminal."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PROBE = r"""
import logging, sys
import django
django.setup()
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.log import log_response

logging.getLogger("ipm.probe").info("probe-ipm-line")
logging.getLogger("django.server").info("probe-server-line")
logging.getLogger("django.request").warning("probe-request-line")
try:
    raise PermissionDenied("Your role does not give access to this page.")
except PermissionDenied as exc:
    log_response("Forbidden (Permission denied): %s", "/audit/", response=HttpResponse(status=403),
                 request=RequestFactory().get("/audit/"), exception=exc)
from ipm.celery import app
with app.connection_for_write() as conn:
    conn.ensure_connection(max_retries=1)
    conn.info()  # what the worker logs at start ("Connected to filesystem://...")
print("probe-done", file=sys.stderr)
"""


def run_probe(tmp_path) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ipm.settings.local",
           "IPM_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_it_prints_each_log_line_once(tmp_path):
    out = run_probe(tmp_path)
    for probe in ("probe-ipm-line", "probe-server-line", "probe-request-line"):
        assert out.count(probe) == 1, out


def test_it_logs_a_refusal_as_one_line_without_a_traceback(tmp_path):
    out = run_probe(tmp_path)
    assert out.count("Forbidden (Permission denied): /audit/") == 1, out
    assert "Traceback" not in out, out


def test_the_filesystem_broker_connects_without_a_hostname_warning(tmp_path):
    out = run_probe(tmp_path)
    assert "probe-done" in out and "No hostname was supplied" not in out, out


def test_the_worker_logs_printed_output_at_info():
    assert settings.CELERY_WORKER_REDIRECT_STDOUTS_LEVEL == "INFO"
