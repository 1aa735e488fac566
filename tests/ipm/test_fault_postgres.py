"""A PostgreSQL restart during a bounded burst of requests costs at most the requests in
flight: the app (gunicorn, production-like settings) reconnects by itself.

Runs against a private PostgreSQL cluster of its own (initdb on a free port), so restarting
it disturbs nobody else's database."""

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd):
    """initdb and pg_ctl refuse to run as root; run them as the postgres user if needed."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)


class PrivatePostgres:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ipm-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def init(self):
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U",
                                    "postgres", "--auth=trust", "-E", "UTF8"),
                       check=True, capture_output=True)

    def ctl(self, action: str):
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m",
                                    "fast", "-o", f"-p {self.port} -k {self.dir} -h 127.0.0.1",
                                    "-l", str(self.dir / "log"), action),
                       check=True, capture_output=True)

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def cleanup(self):
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                                    "immediate", "stop"), capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1", "X-Forwarded-Proto": "https"})
        return conn.getresponse().status
    except OSError:
        return 599
    finally:
        conn.close()


@pytest.mark.postgres
@pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="needs PostgreSQL 15 binaries")
def test_a_postgres_restart_costs_at_most_the_requests_in_flight(tmp_path):
    pg = PrivatePostgres()
    web = None
    try:
        pg.init()
        pg.ctl("start")
        env = {**os.environ, "DATABASE_URL": pg.url,
               "DJANGO_SETTINGS_MODULE": "ipm.settings.production",
               "SECRET_KEY": "fault-test-secret-key-0123456789-abcdefghijklmnop",
               "AUDIT_HMAC_KEY": "fault-test-audit-key-0123456789-abcdefghijklmnop",
               "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false",
               "IPM_VAR_DIR": str(tmp_path), "STATIC_ROOT": str(tmp_path / "static"),
               "CELERY_BROKER_URL": "memory://"}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        port = _free_port()
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "ipm.wsgi:application",
                                "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                "--log-level", "warning"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if _get(port, "/livez") == 200:
                break
            time.sleep(0.2)
        assert _get(port, "/healthz") == 200   # database answers (broker: in memory)

        results: list[tuple[float, int]] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + 12
        concurrency = 4

        def client():
            while time.monotonic() < stop_at:       # bounded in time
                status = _get(port, "/healthz")   # a database round trip per request
                with lock:
                    results.append((time.monotonic(), status))

        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        for t in threads:
            t.start()
        time.sleep(3)
        restart_began = time.monotonic()
        pg.ctl("restart")
        restart_done = time.monotonic()
        for t in threads:
            t.join()

        failed = [(t, s) for t, s in results if s >= 500]
        after = [s for t, s in results if t > restart_done + 1]
        # Only requests overlapping the restart may fail: at most the ones in flight per
        # worker connection, and nothing once the database is back.
        assert all(restart_began - 1 <= t <= restart_done + 1 for t, _ in failed), failed
        assert len(failed) <= concurrency * 2
        assert after and all(s == 200 for s in after)
        assert sum(1 for _, s in results if s == 200) > 20
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=20)
        pg.cleanup()
