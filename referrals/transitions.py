"""The referral state machine (SPEC §3.2), as pure data and one pure check.

new → triaged → scheduled → in_treatment → discharged
new | triaged → declined            (reason required)
any non-final state → cancelled     (reason required)
"""

NEW, TRIAGED, SCHEDULED, IN_TREATMENT, DISCHARGED = (
    "new", "triaged", "scheduled", "in_treatment", "discharged")
DECLINED, CANCELLED = "declined", "cancelled"

STATES = (NEW, TRIAGED, SCHEDULED, IN_TREATMENT, DISCHARGED, DECLINED, CANCELLED)
FINAL_STATES = frozenset({DISCHARGED, DECLINED, CANCELLED})
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)

ALLOWED: dict[str, frozenset[str]] = {
    NEW: frozenset({TRIAGED, DECLINED, CANCELLED}),
    TRIAGED: frozenset({SCHEDULED, DECLINED, CANCELLED}),
    SCHEDULED: frozenset({IN_TREATMENT, CANCELLED}),
    IN_TREATMENT: frozenset({DISCHARGED, CANCELLED}),
    DISCHARGED: frozenset(),
    DECLINED: frozenset(),
    CANCELLED: frozenset(),
}
REASON_REQUIRED = frozenset({DECLINED, CANCELLED})


class TransitionRefused(Exception):
    def __init__(self, message: str, field: str = "to"):
        self.message = message
        self.field = field
        super().__init__(message)


def check_transition(current: str, to: str, reason: str = "") -> None:
    """Raise TransitionRefused unless `current → to` is allowed with what was given."""
    if to not in STATES:
        raise TransitionRefused(f"'{to}' is not a referral state; use one of {', '.join(STATES)}.")
    if to not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current])) or "none (final state)"
        raise TransitionRefused(
            f"A referral cannot move from '{current}' to '{to}'. Allowed from '{current}': {allowed}.")
    if to in REASON_REQUIRED and not (reason or "").strip():
        raise TransitionRefused(f"A reason is required to mark a referral '{to}'.", field="reason")
