"""Patient questionnaire link tokens (docs/product.md §3.4: random, unguessable, single-use, expiring).

Only ``sha256(token)`` is stored and links are looked up by that hash alone: an unknown,
forged or truncated token costs the same one indexed lookup as a real one and gets 404.

Why a seed, and not the raw token, is stored: reminders go out on the due day and again 3
and 7 days later, and each message must carry the same URL. ``django.core.signing`` only
signs (the payload stays readable), and no encryption library is installed, so instead the
token is *derived*: ``token = HMAC-SHA256(key derived from SECRET_KEY, seed)`` with a random
32-byte seed per link. The database row holds the seed and the token's hash; turning a seed
into a working URL needs the SECRET_KEY as well, so a copy of the database alone (a backup,
a read replica) does not hand out working links. After a SECRET_KEY rotation, links already
sent keep working (their hash is stored); reminder URLs are rebuilt with whichever key in
SECRET_KEY_FALLBACKS produced the link.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

KEY_SALT = "outcomes.links.questionnaire-token"


def new_seed() -> str:
    return secrets.token_urlsafe(32)


def token_from_seed(seed: str, secret: str | None = None) -> str:
    digest = salted_hmac(KEY_SALT, seed, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    """Hex SHA-256 of whatever the client sent (any string; never fails, same work)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def url_for_token(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("outcomes:questionnaire", args=[token])


def token_for(link) -> str | None:
    """The link's token, rebuilt from its seed (None if no configured key produced it)."""
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        token = token_from_seed(link.token_seed, secret)
        if secrets.compare_digest(token_hash(token), link.token_hash):
            return token
    return None


def link_url(link) -> str | None:
    token = token_for(link)
    return url_for_token(token) if token else None
