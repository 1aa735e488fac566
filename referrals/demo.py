"""Demo data: a realistic triage queue (mixed services, priorities and states, some over
their SLA) and one upcoming MDT meeting with two complex referrals on its agenda."""

import random
from datetime import timedelta

from django.utils import timezone

from . import transitions as t
from .models import MdtAgendaItem, Referral, Service
from .services import (
    mdt_agenda_add,
    mdt_meeting_create,
    referral_assign,
    referral_create,
    referral_request_mdt,
    referral_transition,
)

# Services by suggested pathway (docs/product.md §3.1), so the queue reads like the intake's routing.
BY_PATHWAY = {
    "self_management": ["group_programme", "yoga", "social_prescribing"],
    "physiotherapy": ["physio", "acupuncture", "chiropractic"],
    "psychologically_informed_physio": ["physio", "psychology"],
    "urgent_medical_review": ["pain_medicine"],
}
REASONS = {
    "physio": "Persistent low back pain with reduced walking tolerance; wants to return to work.",
    "psychology": "High fear-avoidance and low mood linked to pain; open to pain psychology.",
    "chiropractic": "Mechanical neck pain, recurrent episodes over 2 years.",
    "acupuncture": "Chronic knee pain, not a surgical candidate; asks about acupuncture.",
    "yoga": "Deconditioned after long sick leave; interested in gentle movement.",
    "pain_medicine": "Red flags at intake: urgent medical review requested.",
    "behavioural_health": "PHQ-9 and GAD-7 both above 10 at intake.",
    "social_prescribing": "Isolated since stopping work; pain worse when inactive.",
    "group_programme": "Would benefit from the 8-week pain management group.",
}
# (status, days ago referred) — some deliberately beyond their service's SLA.
PLAN = [
    (t.NEW, 1), (t.NEW, 3), (t.NEW, 9), (t.NEW, 12), (t.NEW, 0), (t.NEW, 6),
    (t.TRIAGED, 8), (t.TRIAGED, 35), (t.SCHEDULED, 20), (t.SCHEDULED, 50),
    (t.IN_TREATMENT, 40), (t.DISCHARGED, 120), (t.DECLINED, 15), (t.CANCELLED, 30),
]


def _one(value):
    return value[0] if isinstance(value, list | tuple) else value


def populate(ctx: dict) -> None:
    if Referral.objects.exists():
        return
    rng = random.Random(6)  # nosec B311 - demo data, not security
    users = ctx.get("users", {})
    clinician = _one(users.get("clinician"))
    coordinator = _one(users.get("coordinator"))
    patients = list(ctx.get("patients") or [])
    if not patients:
        return
    services = {s.code: s for s in Service.objects.filter(active=True)}
    now = timezone.now()
    made: list[Referral] = []

    for i, patient in enumerate(patients):
        status, days = PLAN[i % len(PLAN)]
        options = BY_PATHWAY.get(patient.pathway or "", ["physio", "behavioural_health"])
        code = options[i % len(options)] if patient.pathway != "urgent_medical_review" else "pain_medicine"
        service = services.get(code) or services["physio"]
        urgent = code == "pain_medicine" or patient.red_flag or rng.random() < 0.15
        referred_at = now - timedelta(days=days, hours=rng.randint(1, 8))
        referral = referral_create(
            patient=patient, service=service, reason=REASONS.get(code, "Chronic pain."),
            priority="urgent" if urgent else "routine", actor=clinician,
            referred_at=referred_at)
        _advance(referral, status, referred_at, coordinator)
        if status in t.OPEN_STATES and coordinator is not None and i % 3 == 0:
            referral_assign(referral=referral, assignee=coordinator, actor=coordinator)
        made.append(referral)
        # A second, concurrent referral for high-risk patients (psychology alongside physio).
        if patient.pathway == "psychologically_informed_physio" and code == "physio":
            made.append(referral_create(
                patient=patient, service=services["psychology"], reason=REASONS["psychology"],
                actor=clinician, referred_at=referred_at + timedelta(minutes=5)))

    _plan_meeting(made, coordinator, clinician, now)


def _advance(referral, status, referred_at, actor) -> None:
    """Walk the referral through the state machine with plausible, past timestamps."""
    steps = {
        t.NEW: [], t.TRIAGED: [t.TRIAGED], t.SCHEDULED: [t.TRIAGED, t.SCHEDULED],
        t.IN_TREATMENT: [t.TRIAGED, t.SCHEDULED, t.IN_TREATMENT],
        t.DISCHARGED: [t.TRIAGED, t.SCHEDULED, t.IN_TREATMENT, t.DISCHARGED],
        t.DECLINED: [t.DECLINED], t.CANCELLED: [t.TRIAGED, t.CANCELLED],
    }[status]
    at = referred_at
    for n, step in enumerate(steps, start=1):
        at = min(timezone.now(), at + timedelta(days=2 * n, hours=3))
        reason = {t.DECLINED: "Already under the orthopaedic spinal team; GP informed.",
                  t.CANCELLED: "Patient moved out of the area."}.get(step, "")
        referral_transition(referral=referral, to=step, actor=actor, reason=reason, at=at)


def _plan_meeting(made, coordinator, clinician, now) -> None:
    when = timezone.localtime(now + timedelta(days=3)).replace(hour=13, minute=0, second=0,
                                                               microsecond=0)
    attendees = [("Medicine", clinician, ""), ("Physiotherapy", None, "Sam Patel"),
                 ("Psychology", None, "Dr Alex Moreno"), ("Care coordination", coordinator, "")]
    meeting = mdt_meeting_create(
        scheduled_for=when, mode="virtual", video_link="https://meet.example.org/ipm-mdt",
        duration_minutes=60, notes="Weekly complex-case review.", actor=coordinator,
        attendees=[a for a in attendees if a[1] is not None or a[2]])
    # Complex first: red flags or high risk, then anything new, asked for on request.
    fresh = [r for r in made if Referral.objects.filter(pk=r.pk, status=t.NEW).exists()]
    complex_ = [r for r in fresh if r.patient.red_flag or r.patient.risk_group == "high"]
    picked = (complex_ + [r for r in fresh if r not in complex_])[:2]
    for referral in picked:
        if referral not in complex_:
            referral_request_mdt(referral=referral, actor=coordinator)
        if not MdtAgendaItem.objects.filter(referral=referral, decision="").exists():
            mdt_agenda_add(meeting=meeting, referral=referral, actor=coordinator,
                           note="Which services, and in what order?")
