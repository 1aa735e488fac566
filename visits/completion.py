"""The completion rule for group programmes (docs/product.md §3.3), pure and table-testable.

A person who attended at least 75 % of the series' *held* sessions completes it when the
series ends.
- held: a session that was scheduled (not cancelled) and has started by now;
- attended: attendance marked `present` (late cancels, absences and excused absences do
  not count; `unresolved` never counts: it is never marked automatically).
The comparison is an exact fraction, so 6 of 8 (75 %) completes and 5 of 7 (71.4 %) does not.
"""

from fractions import Fraction

COMPLETION_THRESHOLD = Fraction(3, 4)


def has_completed(*, attended: int, held: int) -> bool:
    """True when `attended / held >= 75 %`. A series with no held session completes nobody."""
    if held <= 0:
        return False
    if attended < 0 or attended > held:
        raise ValueError(f"attended ({attended}) must be between 0 and held ({held})")
    return Fraction(attended, held) >= COMPLETION_THRESHOLD


def attendance_percent(*, attended: int, held: int) -> int | None:
    """Whole percent for display (rounded down, so 74.9 % never shows as 75 %)."""
    if held <= 0:
        return None
    return (100 * attended) // held
