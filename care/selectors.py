"""Reads of the care app: the care-manager worklist, a patient's care panel, the billing
export. Lists run a fixed number of queries whatever their length, and every read is
scoped to the patients the user may see (`Patient.objects.visible_to`)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from appointments.selectors import open_attendance_reviews
from outcomes import instruments
from outcomes.models import QuestionnaireResponse
from patients.models import Patient

from . import billing, minutes
from .models import BillingCode, Contact, Goal, StepDecision

WORKLIST_SECTION_LIMIT = 50
NO_ANSWER_STREAK = 3
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# --- Annotations shared by the worklist and the patient panel --------------------------------

def _latest_peg_at():
    """When the latest PEG was answered: the response that set (or kept) not_improving."""
    return Subquery(QuestionnaireResponse.objects.filter(patient_id=OuterRef("pk"),
                                                         instrument="peg")
                    .order_by("-answered_at", "-pk").values("answered_at")[:1])


def _step_decided_since(field: str):
    """An up or stay decision recorded at or after the outer row's `field`."""
    return Exists(StepDecision.objects.filter(
        patient_id=OuterRef("pk"), decided_at__gte=OuterRef(field),
        direction__in=[StepDecision.Direction.UP, StepDecision.Direction.STAY]))


def consider_step_up_q() -> Q:
    """`not_improving` (12 weeks or later) with no up/stay decision since the PEG that set
    it; needs `with_care_annotations`."""
    return Q(not_improving=True, step_decided=False)


def with_care_annotations(qs):
    """`flagged_at`, `step_decided`, `last_other_at`, `no_answer_streak`, `next_contact_on`,
    `last_contact_at` on a Patient queryset (subqueries: one query for the whole page)."""
    latest = Contact.objects.filter(patient_id=OuterRef("pk")).order_by("-contacted_at", "-pk")
    last_other = (Contact.objects.filter(patient_id=OuterRef("pk"))
                  .exclude(outcome=Contact.Outcome.NO_ANSWER)
                  .order_by("-contacted_at", "-pk").values("contacted_at")[:1])
    streak = (Contact.objects.filter(
        patient_id=OuterRef("pk"), outcome=Contact.Outcome.NO_ANSWER,
        contacted_at__gt=Coalesce(OuterRef("last_other_at"), Value(_EPOCH)))
        .order_by().values("patient_id").annotate(n=Count("pk")).values("n")[:1])
    return (qs.annotate(flagged_at=_latest_peg_at(), last_other_at=Subquery(last_other),
                        next_contact_on=Subquery(latest.values("next_contact_on")[:1]),
                        last_contact_at=Subquery(latest.values("contacted_at")[:1]))
            .annotate(step_decided=_step_decided_since("flagged_at"),
                      no_answer_streak=Coalesce(Subquery(streak), 0)))


# --- Worklist ------------------------------------------------------------------------------

def worklist(*, user, today: dt.date | None = None, mine: bool = False) -> dict:
    """The care manager's worklist (SPEC §9), three sections, each capped:

    - consider stepping up: not improving at 12 weeks, no up/stay decision since;
    - contacts due: the latest contact asked for a next contact today or earlier;
    - no answer: the last three contacts in a row went unanswered;
    - missed appointments: referrals with two did-not-attend visits awaiting review
      (docs/product.md §8).
    Fixed query count (four)."""
    today = today or timezone.localdate()
    base = Patient.objects.visible_to(user).select_related("care_manager", "clinician")
    if mine:
        base = base.filter(care_manager=user)
    step_up = list(with_care_annotations(base.filter(not_improving=True))
                   .filter(consider_step_up_q())
                   .order_by("flagged_at", "pk")[:WORKLIST_SECTION_LIMIT])
    due = list(with_care_annotations(base.filter(Exists(Contact.objects.filter(
        patient_id=OuterRef("pk"), next_contact_on__lte=today))))
        .filter(next_contact_on__lte=today)
        .order_by("next_contact_on", "pk")[:WORKLIST_SECTION_LIMIT])
    no_answer = list(with_care_annotations(base.filter(Exists(Contact.objects.filter(
        patient_id=OuterRef("pk"), outcome=Contact.Outcome.NO_ANSWER))))
        .filter(no_answer_streak__gte=NO_ANSWER_STREAK)
        .order_by("-last_contact_at", "pk")[:WORKLIST_SECTION_LIMIT])
    missed = open_attendance_reviews(patients=base.values("pk"), limit=WORKLIST_SECTION_LIMIT)
    for patient in due:
        patient.overdue = patient.next_contact_on < today
    return {"today": today, "step_up": step_up, "due": due, "no_answer": no_answer,
            "missed_appointments": missed,
            "shown_patients": [*step_up, *due, *no_answer, *(r.patient for r in missed)]}


# --- One patient ---------------------------------------------------------------------------

def contacts_for(patient: Patient):
    return (Contact.objects.filter(patient=patient).select_related("recorded_by")
            .order_by("-contacted_at", "-pk"))


def goals_for(patient: Patient):
    return (Goal.objects.filter(patient=patient)
            .order_by(Coalesce("target_date", Value(dt.date(9999, 12, 31))), "created_at", "pk"))


def patient_care(patient: Patient, *, today: dt.date | None = None) -> dict:
    """Everything the care panel on the patient page shows (a fixed number of queries)."""
    today = today or timezone.localdate()
    annotated = with_care_annotations(Patient.objects.filter(pk=patient.pk)).get()
    month = today.replace(day=1)
    goals = list(goals_for(patient))
    return {
        "step": annotated.step,
        "consider_step_up": annotated.not_improving and not annotated.step_decided,
        "no_answer_streak": annotated.no_answer_streak,
        "flag_no_answer": annotated.no_answer_streak >= NO_ANSWER_STREAK,
        "next_contact_on": annotated.next_contact_on,
        "decisions": list(StepDecision.objects.filter(patient=patient)
                          .select_related("decided_by", "mdt_meeting")[:10]),
        "contacts": list(contacts_for(patient)[:10]),
        "month": month,
        "month_minutes": minutes.month_minutes([patient.pk], month).get(patient.pk, 0),
        "goals": goals,
        "psfs_activities": {g.psfs_item: g.activity for g in goals
                            if g.psfs_item and g.status != Goal.Status.DROPPED},
        "psfs": psfs_trend(patient, goals),
    }


PSFS = "psfs"


def psfs_trend(patient: Patient, goals: list[Goal]) -> list[dict] | None:
    """The patient's PSFS answers over time: each activity's rating (named by the goal that
    holds its item) and the mean score with its change from the first PSFS, classified by
    the instrument's MCID (outcomes.instruments)."""
    names = {g.psfs_item: g.activity for g in goals
             if g.psfs_item and g.status != Goal.Status.DROPPED}
    responses = list(QuestionnaireResponse.objects.filter(patient=patient, instrument=PSFS)
                     .only("pk", "answered_at", "answers", "scores")
                     .order_by("answered_at", "pk"))
    rows = []
    for response in responses:
        baseline = responses[0]
        compared = (instruments.compare(PSFS, baseline.scores, response.scores)
                    if response.pk != baseline.pk else {})
        headline = instruments.headline(PSFS, response.scores)
        key = next(iter(headline), None)
        rows.append({
            "date": timezone.localdate(response.answered_at),
            "score": headline.get(key) if key else None,
            "change": (compared.get(key) or {}).get("change") if key else None,
            "classification": (compared.get(key) or {}).get("classification") if key else None,
            "activities": [{"item": item, "name": names.get(item, item), "rating": rating,
                            "change": (rating - baseline.answers[item]
                                       if response.pk != baseline.pk and item in baseline.answers
                                       else None)}
                           for item, rating in sorted(response.answers.items())],
        })
    return rows


# --- Billing -------------------------------------------------------------------------------

def billing_rules(program=None) -> list[billing.CodeRule]:
    """The program's active billing codes (its own rows, else the defaults)."""
    active = BillingCode.objects.filter(active=True).order_by("family", "code")
    rows = (list(active.filter(program=program)) if program is not None else []) or list(
        active.filter(program__isnull=True))
    return [billing.CodeRule(
        code=r.code, family=r.family, month=r.month, min_minutes=r.min_minutes,
        covers_minutes=r.covers_minutes, add_on_to=tuple(r.add_on_to or ()),
        min_additional_minutes=r.min_additional_minutes, unit_minutes=r.unit_minutes,
        max_units=r.max_units, description=r.description)
        for r in rows]


def billing_export(*, month, patients, program=None) -> dict:
    """Per patient with care-management minutes in `month` ('YYYY-MM' or a date): the
    minutes, whether it is the patient's first care-management month, and every family of
    codes the month meets. `patients` is the queryset the user may see. Six queries."""
    month = minutes.parse_month(month)
    rules = billing_rules(program)
    totals = minutes.month_minutes(None, month)
    people = {p.pk: p for p in patients.filter(pk__in=list(totals)).select_related("site")}
    firsts = minutes.first_care_months(people)
    rows = []
    for pid in sorted(people, key=lambda pk: (people[pk].family_name, people[pk].given_name, pk)):
        p, total = people[pid], totals[pid]
        first = firsts.get(pid) == month
        met = billing.codes_met(total, first_month=first, rules=rules)
        rows.append({"patient": pid, "mrn": p.mrn, "name": p.full_name, "site": p.site.code,
                     "month": month.strftime("%Y-%m"), "minutes": total,
                     "care_month": "first" if first else "subsequent",
                     "families": [f.as_dict() for f in met],
                     "codes": "; ".join(f"{f.family}: {f}" for f in met)})
    return {"month": month.strftime("%Y-%m"), "rows": rows,
            "families": sorted({r.family for r in rules})}
