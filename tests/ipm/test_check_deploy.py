import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_passes_check_deploy_with_production_settings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ipm.settings.production",
           "SECRET_KEY": "x" * 30 + "-a-long-random-production-secret-value-!",
           "AUDIT_HMAC_KEY": "y" * 40, "ALLOWED_HOSTS": "ipm.example.org",
           "IPM_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    r = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                        "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
