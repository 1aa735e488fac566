"""Plausible dates, per kind of field. Models, serializers and forms share these, and check
constraints in the database hold the fixed bounds (see the models' Meta.constraints).

- A birth date is from 1900-01-01 to today (nobody in the program is older, nobody is
  born tomorrow).
- A care date (a group session, an answered questionnaire, a medication review, an MDT
  meeting) lies from 2000-01-01 up to, not including, 2100-01-01. Year 0169 is a typing
  slip; in the program's time zone it also has a local mean time offset (-00:01:15) that
  RFC 3339 cannot express.
"""

from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
EARLIEST_CARE_DATE = date(2000, 1, 1)
CARE_DATES_BEFORE = date(2100, 1, 1)
EARLIEST_CARE_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
CARE_MOMENTS_BEFORE = datetime(2100, 1, 1, tzinfo=UTC)


def validate_birth_date(value: date) -> None:
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError("A birth date must be on or after 1900-01-01.",
                              code="birth_date_too_early")
    if value > timezone.localdate():
        raise ValidationError("A birth date cannot be in the future.",
                              code="birth_date_in_future")


def validate_care_date(value: date | datetime) -> None:
    """A date or an aware datetime within the care window (2000-01-01 to 2099-12-31)."""
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        ok = EARLIEST_CARE_MOMENT <= value < CARE_MOMENTS_BEFORE
    else:
        ok = EARLIEST_CARE_DATE <= value < CARE_DATES_BEFORE
    if not ok:
        raise ValidationError("Enter a date from 2000-01-01 to 2099-12-31.",
                              code="implausible_date")
