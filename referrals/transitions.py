"""The referral state machine (docs/product.md §3.2), as pure data and one pure check.

new → triaged → scheduled → in_treatment → discharged
new | triaged → declined            (reason required)
any non-final state → cancelled     (reason required)

Everything else is refused. Pages, the API, the admin, MDT decisions and tasks all go
through `referrals.services.referral_transition`, which calls `check_transition` under a
row lock.
"""

NEW, TRIAGED, SCHEDULED, IN_TREATMENT, DISCHARGED = (
    "new", "triaged", "scheduled", "in_treatment", "discharged")
DECLINED, CANCELLED = "declined", "cancelled"

STATES = (NEW, TRIAGED, SCHEDULED, IN_TREATMENT, DISCHARGED, DECLINED, CANCELLED)
FINAL_STATES = frozenset({DISCHARGED, DECLINED, CANCELLED})
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)
# Waiting for a first visit: the SLA clock runs (see referrals.selectors.sla_breached).
AWAITING_FIRST_VISIT = (NEW, TRIAGED, SCHEDULED)

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

# The verb a button shows for each target state.
ACTION_LABELS = {
    TRIAGED: "Triage",
    SCHEDULED: "Schedule",
    IN_TREATMENT: "First visit held",
    DISCHARGED: "Discharge",
    DECLINED: "Decline",
    CANCELLED: "Cancel",
}

# Why a transition was refused: the service maps these to HTTP-shaped errors.
UNKNOWN_STATE = "unknown_state"    # 400: not a state at all
NOT_ALLOWED = "not_allowed"        # 409: a state, but not reachable from the current one
REASON_MISSING = "reason_missing"  # 400: allowed, but a reason is required


class TransitionRefused(Exception):
    def __init__(self, message: str, field: str = "to", code: str = NOT_ALLOWED,
                 allowed: tuple[str, ...] = ()):
        self.message = message
        self.field = field
        self.code = code
        self.allowed = allowed
        super().__init__(message)


def allowed_from(current: str) -> tuple[str, ...]:
    """The states reachable from `current`, in the order of the pathway."""
    targets = ALLOWED.get(current, frozenset())
    return tuple(s for s in STATES if s in targets)


def check_transition(current: str, to: str, reason: str = "") -> None:
    """Raise TransitionRefused unless `current → to` is allowed with what was given."""
    allowed = allowed_from(current)
    if to not in STATES:
        raise TransitionRefused(
            f"'{to}' is not a referral state; use one of {', '.join(STATES)}.",
            code=UNKNOWN_STATE, allowed=allowed)
    if to not in allowed:
        names = ", ".join(allowed) or "none (final state)"
        raise TransitionRefused(
            f"A referral cannot move from '{current}' to '{to}'. Allowed from '{current}': {names}.",
            code=NOT_ALLOWED, allowed=allowed)
    if to in REASON_REQUIRED and not (reason or "").strip():
        raise TransitionRefused(f"A reason is required to mark a referral '{to}'.",
                                field="reason", code=REASON_MISSING, allowed=allowed)
