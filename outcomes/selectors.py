"""Reads for outcomes: alerts, response time series, trends, schedules and the care-manager
worklist. Each list runs a fixed number of queries whatever its length."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from ipm.pagination import CappedPaginator
from patients.models import Intake, Patient
from patients.scoping import visible
from referrals.models import Referral

from . import instruments, schedule
from .instruments.change import mcid_rule
from .links import token_hash
from .mme import mme_flags
from .models import (
    MedicationReview,
    QuestionnaireLink,
    QuestionnaireResponse,
    SafetyAlert,
    ScheduleRule,
)

HOME_ALERT_LIMIT = 50
WORKLIST_SECTION_LIMIT = 50
# The trend charts' time axis spans at least this far: the first follow-up after intake.
FIRST_FOLLOW_UP_WEEKS = min(r.weeks for r in schedule.DEFAULT_SCHEDULE if r.weeks)


# --- Safety alerts -----------------------------------------------------------------------

def alerts_list(*, status: str | None = None, user=None):
    """Alerts of the patients ``user`` may see (their sites')."""
    qs = visible(SafetyAlert.objects.select_related("patient", "assigned_to", "acknowledged_by",
                                                    "escalated_to"), user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-opened_at", "-pk")


def open_alert_exists():
    """EXISTS, not COUNT: no GROUP BY over the whole patient table (and a cheap list count).
    Registered as the patient rows' `has_open_alert` (outcomes.apps)."""
    return Exists(SafetyAlert.objects.filter(patient=OuterRef("pk"), status="open"))


def open_alerts_for_home(user) -> list[SafetyAlert]:
    """Open alerts for a clinician's or coordinator's home page (oldest first: the longest
    waiting needs action first), with the patient loaded."""
    return list(visible(SafetyAlert.objects.filter(status=SafetyAlert.Status.OPEN), user)
                .select_related("patient", "assigned_to")
                .order_by("opened_at", "pk")[:HOME_ALERT_LIMIT])


# --- Questionnaire links -----------------------------------------------------------------

def link_for_token(token: str) -> QuestionnaireLink | None:
    """The link whose token hashes to this one (one indexed lookup whatever the input)."""
    return (QuestionnaireLink.objects.select_related("patient")
            .filter(token_hash=token_hash(token)).first())


# --- Response time series ----------------------------------------------------------------

def _baseline_of(field: str):
    return Subquery(QuestionnaireResponse.objects.filter(
        patient_id=OuterRef("patient_id"), instrument=OuterRef("instrument"))
        .order_by("answered_at", "pk").values(field)[:1])


def patient_responses(*, patient, instrument: str | None = None):
    """The patient's responses ordered by answered_at, each annotated with its instrument's
    baseline (the patient's first response of that instrument): `baseline_id`,
    `baseline_scores`. One query per page."""
    qs = QuestionnaireResponse.objects.filter(patient_id=patient.pk)
    if instrument:
        qs = qs.filter(instrument=instrument)
    return (qs.annotate(baseline_id=_baseline_of("pk"), baseline_scores=_baseline_of("scores"))
            .order_by("answered_at", "pk"))


def change_from_baseline(response) -> dict | None:
    """outcomes.instruments.compare against the baseline; None for the baseline itself."""
    if response.baseline_id is None or response.baseline_id == response.pk:
        return None
    return instruments.compare(response.instrument, response.baseline_scores, response.scores)


# --- Trends (patient page partial) -------------------------------------------------------

# The charted instruments: those whose spec names trend series (registry order).
TRENDED = tuple(i for i in instruments.all_instruments() if i.trend)
TREND_INSTRUMENTS = tuple(i.code for i in TRENDED)
DIRECTION_WORDS = {1: "higher is better", -1: "lower is better"}


def _weeks_since(start, moment) -> float:
    return round((timezone.localdate(moment) - start).days / 7, 1)


def _band(code: str, key: str, baseline: float, y_range) -> dict | None:
    rule = mcid_rule(code, key)
    if rule is None:
        return None
    width = float(rule.threshold) * (abs(baseline) if rule.relative else 1)
    lo, hi = y_range
    return {"low": round(max(lo, baseline - width), 2), "high": round(min(hi, baseline + width), 2),
            "direction": DIRECTION_WORDS[rule.sign],
            "mcid": (f"{float(rule.threshold) * 100:g}% of baseline" if rule.relative
                     else f"{float(rule.threshold):g} points")}


def patient_trends(patient) -> dict:
    """Everything `templates/outcomes/_patient_trends.html` needs (3 queries): chart data
    for the json_script tag, the same numbers as table rows, change from baseline per
    measure, the responder / not_improving flags and the opioid dose (MME) over time: the
    intake's MME, then each medication review."""
    responses = list(QuestionnaireResponse.objects.filter(
        patient_id=patient.pk, instrument__in=TREND_INSTRUMENTS)
        .only("pk", "instrument", "answered_at", "scores").order_by("answered_at", "pk"))
    reviews = list(MedicationReview.objects.filter(patient_id=patient.pk)
                   .only("pk", "reviewed_at", "total_mme", "total_entered_directly")
                   .order_by("reviewed_at", "pk"))
    firsts = [r.answered_at for r in responses[:1]] + [m.reviewed_at for m in reviews[:1]]
    start = patient.intake_date or (timezone.localdate(min(firsts)) if firsts
                                    else timezone.localdate())
    by_code: dict[str, list] = defaultdict(list)
    for response in responses:
        by_code[response.instrument].append(response)

    charts, summary, rows = [], [], []
    for instrument in TRENDED:
        code, title, y_range = instrument.code, instrument.label, instrument.display_range
        keys = [(s.key, s.label, s.mcid_band) for s in instrument.trend]
        items = by_code.get(code, [])
        if not items:
            continue
        baseline = items[0]
        series = []
        for key, label, with_band in keys:
            base_value = instruments.headline(code, baseline.scores)[key]
            points = [{"x": _weeks_since(start, r.answered_at),
                       "date": timezone.localdate(r.answered_at).isoformat(),
                       "y": instruments.headline(code, r.scores)[key]} for r in items]
            band = _band(code, key, base_value, y_range) if with_band else None
            series.append({"key": key, "label": label, "baseline": base_value, "band": band,
                           "points": points, "hidden": not with_band})
            latest = items[-1]
            change = (instruments.compare(code, baseline.scores, latest.scores)[key]
                      if latest.pk != baseline.pk else None)
            summary.append({"measure": label if len(keys) > 1 else instrument.short_label,
                            "code": code, "key": key, "baseline": base_value,
                            "latest": change["value"] if change else base_value,
                            "change": change["change"] if change else None,
                            "classification": change["classification"] if change else None,
                            "direction": band["direction"] if band else "",
                            "latest_date": timezone.localdate(latest.answered_at)})
        charts.append({"id": code, "title": title, "y_min": y_range[0], "y_max": y_range[1],
                       "series": series})
        for response in items:
            comparison = (instruments.compare(code, baseline.scores, response.scores)
                          if response.pk != baseline.pk else None)
            values = instruments.headline(code, response.scores)
            rows.append({"response_id": response.pk, "code": code,
                         "measure": instrument.short_label,
                         "date": timezone.localdate(response.answered_at),
                         "week": _weeks_since(start, response.answered_at),
                         "is_baseline": response.pk == baseline.pk,
                         "values": [{"label": label, "value": values[key],
                                     "change": comparison[key]["change"] if comparison else None,
                                     "classification": (comparison[key]["classification"]
                                                        if comparison else None)}
                                    for key, label, _ in keys]})
    rows.sort(key=lambda row: (row["date"], row["response_id"]))

    doses = [(i.created_at, i.mme, "intake") for i in
             Intake.objects.filter(patient_id=patient.pk, mme__isnull=False)
             .only("created_at", "mme")]
    doses += [(m.reviewed_at, m.total_mme, "total" if m.total_entered_directly else "lines")
              for m in reviews]
    doses.sort(key=lambda dose: dose[0])
    mme_points = [{"x": _weeks_since(start, at), "date": timezone.localdate(at).isoformat(),
                   "y": float(total)} for at, total, _ in doses]
    mme_rows = [{"date": timezone.localdate(at), "week": _weeks_since(start, at),
                 "total_mme": total, "flags": mme_flags(total), "source": source}
                for at, total, source in doses]
    if mme_points:
        top = max(point["y"] for point in mme_points)
        charts.append({"id": "mme", "title": "Opioid dose (MME/day)", "y_min": 0,
                       "y_max": int(max(100, top * 1.1) // 10 + 1) * 10,
                       "series": [{"key": "total_mme", "label": "Total MME/day", "baseline": None,
                                   "band": None, "points": mme_points, "hidden": False}],
                       "thresholds": [50, 90]})
    # One x axis (weeks since intake) for every chart, so MME lines up with PEG.
    weeks = [p["x"] for chart in charts for series in chart["series"] for p in series["points"]]
    # Whole weeks, and at least up to the first follow-up: a new patient's axis is not 0-1
    # with decimals (static/ipm/charts.js draws the same range).
    x_range = [math.floor(min(0.0, *weeks)), max(FIRST_FOLLOW_UP_WEEKS, math.ceil(max(weeks)))
               ] if weeks else [0, FIRST_FOLLOW_UP_WEEKS]
    return {
        "patient_id": patient.pk,
        "start_date": start,
        "chart_data": {"charts": charts, "x_min": x_range[0], "x_max": x_range[1]},
        "charts": charts,
        "rows": rows,
        "summary": summary,
        "mme_rows": mme_rows,
        "current_mme": patient.current_mme,
        "baseline_mme": patient.baseline_mme,
        "mme_flags": mme_flags(patient.current_mme),
        "responder": patient.responder,
        "not_improving": patient.not_improving,
    }


# --- Schedule ----------------------------------------------------------------------------

def schedule_rules_by_program() -> tuple[tuple[schedule.Rule, ...], dict[int, tuple]]:
    """(default rules, {program id: its own rules}) from ScheduleRule rows (1 query).
    Falls back to schedule.DEFAULT_SCHEDULE when the table holds no default rows."""
    default, own = [], defaultdict(list)
    for program_id, code, weeks in (ScheduleRule.objects.filter(active=True)
                                    .values_list("program_id", "instrument",
                                                 "weeks_after_intake")):
        (own[program_id] if program_id else default).append(schedule.Rule(code, weeks))
    return (tuple(sorted(default, key=_rule_key)) or schedule.DEFAULT_SCHEDULE,
            {pid: tuple(sorted(rules, key=_rule_key)) for pid, rules in own.items()})


def _rule_key(rule: schedule.Rule):
    return (rule.instrument, rule.weeks is None, rule.weeks or 0)


def rules_for(program_id, default, own) -> tuple[schedule.Rule, ...]:
    return own.get(program_id) or default


def _discharge_annotations():
    final = ("discharged", "declined", "cancelled")
    discharged = (Referral.objects.filter(patient_id=OuterRef("pk"), status="discharged")
                  .order_by("-closed_at").values("closed_at")[:1])
    return {
        "discharged_at": Subquery(discharged),
        "has_open_referral": Exists(Referral.objects.filter(patient_id=OuterRef("pk"))
                                    .exclude(status__in=final)),
    }


def _answered_since(code: str, since_expression):
    return Exists(QuestionnaireResponse.objects.filter(
        patient_id=OuterRef("pk"), instrument=code, answered_at__date__gte=since_expression))


def _due_condition(rules, today) -> Q:
    """SQL twin of schedule.measures_due for one set of rules: the patient has a time point
    in its due/overdue window with no response since the window opened."""
    condition = Q(pk__in=[])
    for rule in rules:
        if rule.at_discharge:
            lo, hi = schedule.discharge_range_for(today)
            opened = OuterRef("discharged_on") - timedelta(days=schedule.EARLY_DAYS)
            condition |= (Q(discharged_on__range=(lo, hi), has_open_referral=False)
                          & ~_answered_since(rule.instrument, opened))
        else:
            lo, hi = schedule.intake_range_for(rule.weeks, today)
            opened = OuterRef("intake_date") + (timedelta(weeks=rule.weeks)
                                                - timedelta(days=schedule.EARLY_DAYS))
            condition |= (Q(intake_date__range=(lo, hi))
                          & ~_answered_since(rule.instrument, opened))
    return condition


def _caseload_of(person):
    return Q(clinician=person) | Q(care_manager=person)


def patients_with_measures_due(*, today=None, clinician=None, user=None):
    """Patients with at least one measure due or overdue today (a queryset, for paging)."""
    today = today or timezone.localdate()
    default, own = schedule_rules_by_program()
    condition = Q(pk__in=[])
    if own:
        condition |= ~Q(program_id__in=list(own)) & _due_condition(default, today)
        for program_id, rules in own.items():
            condition |= Q(program_id=program_id) & _due_condition(rules, today)
    else:
        condition = _due_condition(default, today)
    qs = (visible(Patient.objects.all(), user, "").annotate(**_discharge_annotations())
          .annotate(discharged_on=TruncDate("discharged_at"))
          .filter(condition))
    if clinician is not None:
        qs = qs.filter(_caseload_of(clinician))
    return qs


def in_code_order(codes) -> list[str]:
    """Distinct instrument codes in the registry's display order (PEG before PHQ-9 ...)."""
    wanted = set(codes)
    return [code for code in instruments.CODES if code in wanted]


def attach_measures_due(patients, *, today=None) -> None:
    """Set `measures_due` (schedule.TimePoint list) and `open_link` on each patient of a page
    (2 queries). Patients need the `discharged_on` / `has_open_referral` annotations."""
    today = today or timezone.localdate()
    default, own = schedule_rules_by_program()
    ids = [p.pk for p in patients]
    answered = defaultdict(list)
    earliest = today - timedelta(weeks=60)
    for pid, code, at in (QuestionnaireResponse.objects
                          .filter(patient_id__in=ids, answered_at__date__gte=earliest)
                          .values_list("patient_id", "instrument", "answered_at")):
        answered[pid].append((code, timezone.localdate(at)))
    open_links = {}
    for link in (QuestionnaireLink.objects.filter(patient_id__in=ids, used_at__isnull=True,
                                                  expires_at__gt=timezone.now())
                 .order_by("created_at")):
        open_links[link.patient_id] = link
    for patient in patients:
        discharged = (getattr(patient, "discharged_on", None)
                      if not getattr(patient, "has_open_referral", True) else None)
        patient.measures_due = schedule.measures_due(
            intake_date=patient.intake_date, today=today, responses=answered[patient.pk],
            rules=rules_for(patient.program_id, default, own), discharged_on=discharged)
        patient.due_codes = in_code_order(p.instrument for p in patient.measures_due)
        patient.open_link = open_links.get(patient.pk)


def links_to_plan(today) -> list[tuple]:
    """(patient, instrument codes) for every measure due on or before ``today`` and still
    unanswered (due or overdue: a due day missed while the worker was down is caught up),
    whether due weeks after intake or at discharge (a discharged referral makes the NPS due),
    for patients who can be contacted, when no link for that measure has been sent since its
    window opened (a link once sent is not sent again by the planner; its reminders follow
    it up). A fixed number of queries."""
    patients = list(patients_with_measures_due(today=today)
                    .filter(consent_to_contact=True).exclude(preferred_channel="none")
                    .order_by("pk"))
    attach_measures_due(patients, today=today)
    sent = defaultdict(list)
    earliest = today - timedelta(days=schedule.OVERDUE_DAYS + schedule.EARLY_DAYS)
    for patient_id, created_at, codes in (QuestionnaireLink.objects
                                          .filter(patient_id__in=[p.pk for p in patients],
                                                  created_at__date__gte=earliest)
                                          .values_list("patient_id", "created_at", "instruments")):
        sent[patient_id].append((timezone.localdate(created_at), set(codes)))
    out = []
    for patient in patients:
        codes = in_code_order(
            point.instrument for point in patient.measures_due
            if point.due_date <= today and not any(
                point.instrument in link_codes and created >= schedule.window(point.due_date)[0]
                for created, link_codes in sent[patient.pk]))
        if codes:
            out.append((patient, codes))
    return out


# --- Care-manager worklist ---------------------------------------------------------------

def worklist(*, today=None, page: int | str = 1, per_page: int = 25, clinician=None,
             user=None) -> dict:
    """The four sections of the worklist, each with its next action (constant query count):
    measures due/overdue (paged), open safety alerts, patients not improving, patients who
    stopped reminders. Only patients ``user`` may see; ``clinician``: that person's caseload
    (responsible clinician or care manager)."""
    today = today or timezone.localdate()
    due_qs = patients_with_measures_due(today=today, clinician=clinician, user=user).select_related(
        "clinician").order_by("intake_date", "pk")
    # Capped count: the due rule is evaluated per patient, so an exact total at 100k
    # patients would cost seconds; the ordered index on intake_date lets page 1 stop early.
    due_page = CappedPaginator(due_qs, per_page).get_page(page)
    due_patients = list(due_page.object_list)
    attach_measures_due(due_patients, today=today)

    patients = visible(Patient.objects.select_related("clinician"), user, "")
    if clinician is not None:
        patients = patients.filter(_caseload_of(clinician))
    not_improving = list(patients.filter(not_improving=True)
                         .order_by("family_name", "given_name", "pk")[:WORKLIST_SECTION_LIMIT])
    stopped = list(patients.filter(consent_revoked_at__isnull=False, consent_to_contact=False)
                   .order_by("-consent_revoked_at", "pk")[:WORKLIST_SECTION_LIMIT])
    alerts = alerts_list(status=SafetyAlert.Status.OPEN, user=user).order_by("opened_at", "pk")
    if clinician is not None:
        alerts = alerts.filter(Q(patient__clinician=clinician) | Q(patient__care_manager=clinician)
                               | Q(assigned_to=clinician))
    open_alerts = list(alerts[:WORKLIST_SECTION_LIMIT])
    return {
        "today": today,
        "now": timezone.now(),
        "due_page": due_page,
        "due_patients": due_patients,
        "alerts": open_alerts,
        "not_improving": not_improving,
        "stopped": stopped,
        "shown_patients": [*due_patients, *not_improving, *stopped,
                           *(a.patient for a in open_alerts)],
    }
