"""De-identification for the cohort CSV (pure: no ORM).

- No names, MRNs, contact details or sites; each patient is a pseudonym keyed with
  ``IPM_DEID_SECRET`` (HMAC-SHA256), stable across exports while the key is unchanged.
- Every date of a patient is shifted by the same number of days (between -182 and +182,
  never 0), drawn from the same keyed hash: intervals within a patient are kept (weeks from
  intake to follow-up), calendar dates are not.
- Ages are whole years at intake; over 89 they are grouped as "90+" (HIPAA Safe Harbor).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta

SHIFT_DAYS = 182


def _digest(secret: str, label: str, patient_id: int) -> bytes:
    return hmac.new(secret.encode(), f"{label}:{patient_id}".encode(), hashlib.sha256).digest()


def pseudonym(secret: str, patient_id: int) -> str:
    return "S" + _digest(secret, "subject", patient_id).hex()[:12]


def shift_days(secret: str, patient_id: int) -> int:
    """A stable offset in [-182, 182] \\ {0}."""
    n = int.from_bytes(_digest(secret, "shift", patient_id)[:4], "big") % (2 * SHIFT_DAYS)
    return n - SHIFT_DAYS if n < SHIFT_DAYS else n - SHIFT_DAYS + 1


def shifted(value: date | datetime | None, days: int) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return (value + timedelta(days=days)).isoformat()


def age_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_group(birth: date, on: date) -> str:
    """Whole years, or "90+" from 90 on."""
    age = age_years(birth, on)
    return "90+" if age > 89 else str(age)
