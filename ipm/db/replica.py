"""Reads that may be served by a PostgreSQL streaming replica (docs/architecture.md).

Dashboards, exports and metric computation are heavy, read-only and tolerate data a few
seconds old, so when ``DATABASE_REPLICA_URL`` is set they read from the ``replica`` alias.
Everything else, and every write, stays on the primary. Three things keep the app correct:

- **Read-your-writes**: a browser session that just wrote (any non-GET request) is pinned to
  the primary for ``DATABASE_REPLICA_PIN_SECONDS``, so the page it is redirected to shows its
  own change (e.g. the snapshot it just queued).
- **Lag**: before using the replica we ask it how far behind it is; beyond
  ``DATABASE_REPLICA_MAX_LAG_SECONDS`` reads go to the primary (logged).
- **Down**: a replica that cannot be reached, or fails mid-read, is skipped for
  ``DATABASE_REPLICA_RETRY_SECONDS`` and the read is run again on the primary (logged).

The health verdict is cached per process for a few seconds, so the check costs one small
query every few seconds, not one per request.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connections

log = logging.getLogger(__name__)

REPLICA = "replica"
PIN_SESSION_KEY = "_ipm_primary_until"

_reading = contextvars.ContextVar("ipm_replica_reads", default=False)
_lock = threading.Lock()
_state = {"checked_at": 0.0, "ok": False, "down_until": 0.0}

# Replay lag in seconds: 0 when everything received has been replayed.
LAG_SQL = """
SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""


def configured() -> bool:
    return REPLICA in settings.DATABASES


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _mark_down(reason: str) -> None:
    retry = _setting("DATABASE_REPLICA_RETRY_SECONDS", 30)
    with _lock:
        _state.update(ok=False, checked_at=time.monotonic(), down_until=time.monotonic() + retry)
    log.warning("read replica unavailable (%s); reading from the primary for %ss", reason, retry)
    try:
        connections[REPLICA].close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is dropped
        log.debug("closing the replica connection failed", exc_info=True)


def replica_usable() -> bool:
    """Whether reads may go to the replica now (configured, reachable, not lagging)."""
    if not configured():
        return False
    now = time.monotonic()
    with _lock:
        if now < _state["down_until"]:
            return False
        if now - _state["checked_at"] < _setting("DATABASE_REPLICA_CHECK_SECONDS", 5):
            return _state["ok"]
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = float(cursor.fetchone()[0] or 0)
    except DatabaseError as exc:
        _mark_down(type(exc).__name__)
        return False
    max_lag = _setting("DATABASE_REPLICA_MAX_LAG_SECONDS", 30)
    ok = lag <= max_lag
    if not ok:
        log.warning("read replica is %.1fs behind (limit %ss); reading from the primary",
                    lag, max_lag)
    with _lock:
        _state.update(ok=ok, checked_at=time.monotonic())
    return ok


def reset_health() -> None:
    """Forget the cached verdict (tests, and after a configuration change)."""
    with _lock:
        _state.update(checked_at=0.0, ok=False, down_until=0.0)


def reading_from_replica() -> bool:
    return _reading.get()


@contextmanager
def _replica_block():
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def on_replica(fn, *args, **kwargs):
    """Run ``fn`` with its reads on the replica when it is usable; if the replica fails
    during the call, mark it down and run ``fn`` again on the primary. ``fn`` must only read
    (writes are routed to the primary anyway, but a rerun would repeat them)."""
    if not replica_usable():
        return fn(*args, **kwargs)
    try:
        with _replica_block():
            return fn(*args, **kwargs)
    except DatabaseError as exc:
        if connections[REPLICA].is_usable():
            raise  # the replica is fine: the error is the query's own, not a failover case
        _mark_down(f"{type(exc).__name__} during a read")
        return fn(*args, **kwargs)


def pinned_to_primary(request) -> bool:
    session = getattr(request, "session", None)
    if session is None:
        return False
    until = session.get(PIN_SESSION_KEY)
    return bool(until) and until > time.time()


def replica_view(view):
    """Decorate a read-only view (dashboard, export, metrics API) to read from the replica,
    unless the session has just written something (read-your-writes)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if pinned_to_primary(request):
            return view(request, *args, **kwargs)
        return on_replica(view, request, *args, **kwargs)

    return wrapped


class ReplicaRouter:
    """Send reads to the replica only inside ``on_replica``/``replica_view``."""

    def db_for_read(self, model, **hints):
        if _reading.get() and configured():
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # the replica follows the primary's schema by replication


class PrimaryPinMiddleware:
    """After a write (any non-safe method) pin the session's reads to the primary for a few
    seconds, so what a person just changed is what they see next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (configured() and request.method not in ("GET", "HEAD", "OPTIONS")
                and getattr(request, "session", None) is not None
                and getattr(request, "user", None) is not None
                and request.user.is_authenticated):
            request.session[PIN_SESSION_KEY] = time.time() + _setting(
                "DATABASE_REPLICA_PIN_SECONDS", 10)
        return response
