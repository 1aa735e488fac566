"""The pure state machine, table-tested against docs/product.md §3.2."""

import pytest

from referrals import transitions as t

SPEC_ALLOWED = {
    ("new", "triaged"), ("triaged", "scheduled"), ("scheduled", "in_treatment"),
    ("in_treatment", "discharged"),
    ("new", "declined"), ("triaged", "declined"),
    ("new", "cancelled"), ("triaged", "cancelled"), ("scheduled", "cancelled"),
    ("in_treatment", "cancelled"),
}
ALL_PAIRS = [(a, b) for a in t.STATES for b in t.STATES]


@pytest.mark.parametrize(("current", "to"), sorted(SPEC_ALLOWED))
def test_it_allows_the_spec_transitions(current, to):
    t.check_transition(current, to, reason="because")
    assert to in t.allowed_from(current)


@pytest.mark.parametrize(("current", "to"), [p for p in ALL_PAIRS if p not in SPEC_ALLOWED])
def test_it_refuses_every_other_transition_naming_the_allowed_states(current, to):
    with pytest.raises(t.TransitionRefused) as exc:
        t.check_transition(current, to, reason="because")
    assert exc.value.code == t.NOT_ALLOWED
    allowed = t.allowed_from(current)
    for state in allowed:
        assert state in exc.value.message
    if not allowed:
        assert "final state" in exc.value.message


@pytest.mark.parametrize("to", ["declined", "cancelled"])
def test_it_requires_a_reason_to_decline_or_cancel(to):
    with pytest.raises(t.TransitionRefused) as exc:
        t.check_transition("new", to, reason="  ")
    assert exc.value.code == t.REASON_MISSING
    assert exc.value.field == "reason"


def test_it_refuses_an_unknown_state():
    with pytest.raises(t.TransitionRefused) as exc:
        t.check_transition("new", "teleported")
    assert exc.value.code == t.UNKNOWN_STATE


def test_final_states_lead_nowhere():
    for state in t.FINAL_STATES:
        assert t.allowed_from(state) == ()
