"""The client's address: one function for the audit trail, login lock-out (django-axes'
AXES_CLIENT_IP_CALLABLE) and API throttles (ipm.throttling).

`X-Forwarded-For` is written by whoever sends the request, so only the entries appended by
our own proxies can be believed. With IPM_TRUSTED_PROXY_COUNT = N (default 0), the client is
the N-th address from the right of the header; with 0 the header is ignored and the peer
address (REMOTE_ADDR) is the client. Anything a client adds to the left is never read.
"""

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    address = address.strip()
    if address.startswith("[") and "]" in address:  # "[2001:db8::1]:443"
        address = address[1:address.index("]")]
    elif address.count(":") == 1:  # "203.0.113.7:443"
        address = address.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's IP address as far as our trusted proxies vouch for it."""
    if request is None:
        return None
    meta = getattr(request, "META", {})
    peer = _valid(meta.get("REMOTE_ADDR") or "")
    trusted = getattr(settings, "IPM_TRUSTED_PROXY_COUNT", 0)
    if trusted > 0:
        hops = [h for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        # Too few entries: the request did not come through every proxy; trust only the peer.
        if len(hops) >= trusted:
            forwarded = _valid(hops[-trusted])
            if forwarded:
                return forwarded
    return peer
