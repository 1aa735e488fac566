"""Django's PostgreSQL backend, patient with a database that is briefly away.

When PostgreSQL restarts (a failover, a minor upgrade), new connections are refused for a
second or two. Instead of failing every request that arrives in that window, a new
connection is retried with a short backoff for up to DATABASE_CONNECT_RETRY_SECONDS. Only
the queries in flight at the moment of the restart fail; CONN_HEALTH_CHECKS replaces the
broken persistent connections on the next request.
"""

import time

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.utils import OperationalError


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        budget = getattr(settings, "DATABASE_CONNECT_RETRY_SECONDS", 5.0)
        deadline = time.monotonic() + budget
        delay = 0.1
        while True:
            try:
                return super().get_new_connection(conn_params)
            except Exception as exc:  # psycopg.OperationalError, wrapped or not
                if not _is_connect_error(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


def _is_connect_error(exc) -> bool:
    import psycopg

    return isinstance(exc, (psycopg.OperationalError, OperationalError))
