"""The read replica: dashboards, exports and metric computation read from a real PostgreSQL
streaming standby (scripts/replica.sh, started by .ci/run), and the app stays correct when
the standby lags or is down (reads fall back to the primary, logged), and after a write
(the session reads its own writes from the primary).

The standby replicates the whole primary cluster, so the test database pytest-django creates
on the primary appears on the standby too; the fixture adds a `replica` alias pointing at it.
Tests commit (transaction=True): a standby only ever sees committed data.
"""

import datetime as dt
import logging
import os
import socket
import time
import types
from urllib.parse import urlparse

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from ipm.db import replica
from tests.conftest import make_user
from tests.metrics.conftest import Build

pytestmark = pytest.mark.postgres
# A standby sees committed rows only: the tests that use it commit (transaction=True).

FEB = {"from": "2025-02-01", "to": "2025-02-28"}
FEB_2 = dt.datetime(2025, 2, 2, 12, tzinfo=dt.UTC)


def _replica_alias(host: str, port: int) -> None:
    cfg = dict(connections["default"].settings_dict)  # same (test) database name
    cfg.update(HOST=host, PORT=port, CONN_MAX_AGE=0)
    connections.settings[replica.REPLICA] = cfg
    if hasattr(connections._connections, replica.REPLICA):
        delattr(connections._connections, replica.REPLICA)
    _allow_in_this_test(connections[replica.REPLICA])


def _allow_in_this_test(conn) -> None:
    """Django's test case refuses connections to aliases it was not told about by patching
    BaseDatabaseWrapper.ensure_connection; this alias is made by the test itself (it cannot
    be in `databases`, or the test case would try to flush a read-only standby), so its
    wrapper gets the real method back."""
    patched = type(conn).ensure_connection
    for cell in patched.__closure__ or ():
        real = cell.cell_contents
        if getattr(real, "__name__", "") == "ensure_connection":
            conn.ensure_connection = types.MethodType(real, conn)


def _drop_alias() -> None:
    try:
        connections[replica.REPLICA].close()
    except Exception:  # noqa: BLE001, S110 - a refused connection has nothing to close
        pass
    if hasattr(connections._connections, replica.REPLICA):
        delattr(connections._connections, replica.REPLICA)
    connections.settings.pop(replica.REPLICA, None)


@pytest.fixture
def standby(transactional_db, settings):
    url = urlparse(os.environ.get("IPM_TEST_REPLICA_URL", "postgres://postgres@127.0.0.1:5433/"))
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0  # ask the standby every time in these tests
    _replica_alias(url.hostname, url.port)
    replica.reset_health()
    yield connections[replica.REPLICA]
    with connections[replica.REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    _drop_alias()
    replica.reset_health()


def _primary_lsn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return cursor.fetchone()[0]


def _wait_on_standby(standby, condition: str, timeout: float = 30) -> None:
    """Wait until the standby has received or replayed the primary's current WAL."""
    lsn = _primary_lsn()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with standby.cursor() as cursor:
            cursor.execute(f"SELECT {condition} >= %s::pg_lsn", [lsn])  # nosec B608 - constant
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"the standby did not reach {lsn} ({condition})")


def _pause_replay(standby) -> None:
    with standby.cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("ada", "admin"))
    return client


@pytest.fixture
def two_intakes():
    build = Build()
    for _ in range(2):
        build.intake(build.patient(risk="low"), FEB_2)
    return build


def _new_intakes(admin_client) -> int:
    r = admin_client.get("/api/metrics/program/", FEB)
    assert r.status_code == 200, r.content
    return r.json()["new_intakes"]


def _csv_new_intakes(admin_client) -> str:
    r = admin_client.get("/metrics/export.csv", FEB)
    assert r.status_code == 200
    row = next(line for line in r.content.decode().splitlines()
               if line.startswith("period,new_intakes,"))
    return row.split(",")[5]


@pytest.mark.replica
@pytest.mark.django_db(transaction=True)
def test_it_reads_metrics_and_the_dashboard_export_from_the_standby(
        standby, two_intakes, admin_client, settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 3600
    _wait_on_standby(standby, "pg_last_wal_replay_lsn()")
    _pause_replay(standby)
    two_intakes.intake(two_intakes.patient(risk="high"), FEB_2)   # committed on the primary only
    _wait_on_standby(standby, "pg_last_wal_receive_lsn()")

    with CaptureQueriesContext(standby) as on_standby:
        assert _new_intakes(admin_client) == 2        # the standby's (paused) copy answered
        assert _csv_new_intakes(admin_client) == "2"
    assert len(on_standby) > 5


@pytest.mark.replica
@pytest.mark.django_db(transaction=True)
def test_it_reads_from_the_primary_when_the_standby_lags(standby, two_intakes, admin_client,
                                                         settings, caplog):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 1
    _wait_on_standby(standby, "pg_last_wal_replay_lsn()")
    _pause_replay(standby)
    two_intakes.intake(two_intakes.patient(risk="high"), FEB_2)
    _wait_on_standby(standby, "pg_last_wal_receive_lsn()")
    time.sleep(1.5)  # the last replayed commit is now more than a second old

    with caplog.at_level(logging.WARNING, logger="ipm.db.replica"):
        assert _new_intakes(admin_client) == 3        # the primary's current answer
    assert "behind" in caplog.text


@pytest.mark.replica
@pytest.mark.django_db(transaction=True)
def test_it_reads_from_the_primary_when_the_standby_is_down(two_intakes, admin_client,
                                                            settings, caplog):
    with socket.socket() as s:            # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.DATABASE_CONNECT_RETRY_SECONDS = 0
    _replica_alias("127.0.0.1", closed_port)
    replica.reset_health()
    try:
        with caplog.at_level(logging.WARNING, logger="ipm.db.replica"):
            assert _new_intakes(admin_client) == 2
            assert _csv_new_intakes(admin_client) == "2"
        assert "unavailable" in caplog.text
    finally:
        _drop_alias()
        replica.reset_health()


@pytest.mark.replica
@pytest.mark.django_db(transaction=True)
def test_a_session_reads_its_own_write_from_the_primary(standby, two_intakes, admin_client,
                                                        settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 3600
    _wait_on_standby(standby, "pg_last_wal_replay_lsn()")
    _pause_replay(standby)
    r = admin_client.post("/metrics/snapshots/", FEB)     # queues a snapshot: a write
    assert r.status_code in (302, 303)

    with CaptureQueriesContext(standby) as on_standby:
        page = admin_client.get("/metrics/", FEB)
    assert page.status_code == 200
    assert len(on_standby) == 0                          # pinned to the primary


def test_it_never_routes_writes_or_migrations_to_the_replica():
    router = replica.ReplicaRouter()
    with replica._replica_block():
        assert router.db_for_write(None) == "default"
    assert router.allow_migrate(replica.REPLICA, "patients") is False
    assert router.db_for_read(None) is None               # outside a replica block
