import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    """Production settings on a migrated SQLite file under a temporary IPM_VAR_DIR."""
    var = tmp_path_factory.mktemp("var")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ipm.settings.production",
           "SECRET_KEY": "x" * 30 + "-a-long-random-production-secret-value-!",
           "AUDIT_HMAC_KEY": "y" * 40, "ALLOWED_HOSTS": "ipm.example.org",
           "IPM_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    manage(env, "migrate", "--noinput")
    return env


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def set_lead(env, username: str | None):
    code = ("from patients.models import Program; from django.contrib.auth.models import User; "
            f"p = Program.default(); p.clinical_lead = User.objects.filter(username={username!r}).first(); "
            "p.save(update_fields=['clinical_lead'])")
    r = manage(env, "shell", "-c", code)
    assert r.returncode == 0, r.stderr


def test_it_passes_check_deploy_with_production_settings(production_env):
    r = manage(production_env, "createstaff", "lena", "--role", "clinician", "--password",
               "a-Long-pass-phrase-42")
    assert r.returncode == 0, r.stderr
    set_lead(production_env, "lena")
    r = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_it_reports_a_missing_clinical_lead_as_an_error(production_env):
    set_lead(production_env, None)
    r = manage(production_env, "check", "--deploy")
    assert r.returncode != 0
    assert "team.E001" in r.stdout + r.stderr
    assert "clinical lead" in r.stdout + r.stderr
