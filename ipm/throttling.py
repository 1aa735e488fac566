"""API throttles that key on the real client address and never fail a request.

- `get_ident` is ipm.net.client_address: a rotated X-Forwarded-For is not a new client.
- The counters live in the default cache (Redis in production). When it cannot be reached
  the throttle logs a warning and counts in this process's memory instead, so a Redis
  outage weakens throttling a little (per process) but never turns a log-in into a 500.
"""

import logging

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from .net import client_address

log = logging.getLogger(__name__)

_fallback_cache = LocMemCache("ipm-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10000}})


class AddressRateThrottle(SimpleRateThrottle):
    """Counts requests per client address, authenticated or not, within `scope`'s rate."""

    def get_ident(self, request):
        return client_address(request) or "unknown"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache failure must not fail the request
            log.warning("throttle %s: cache unavailable (%s); counting in process memory",
                        self.scope, type(exc).__name__)
            self.cache = _fallback_cache
            try:
                return super().allow_request(request, view)
            except Exception:  # noqa: BLE001
                return True


class TokenThrottle(AddressRateThrottle):
    """`POST /api/auth/token/`: per address, across usernames."""

    scope = "token"
