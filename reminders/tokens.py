"""The one-click stop link: `/reminders/stop/<token>/`, where the token is the patient id
signed with SECRET_KEY and a salt of its own (so no other signed value in the project can
be replayed as a stop token). It never expires: a stop link in an old message must work."""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "reminders.stop-link"


def stop_token(patient_id: int) -> str:
    return signing.Signer(salt=SALT).sign_object({"p": int(patient_id)})


def patient_id_from_stop_token(token: str) -> int | None:
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    value = data.get("p") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


@lru_cache(maxsize=1)
def _stop_path() -> str:
    # reverse() once, not per message: a pass renders thousands.
    return reverse("reminders:stop", args=["TOKEN"])


def stop_url(patient_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + _stop_path().replace("TOKEN", stop_token(patient_id))
