"""Every program metric over the whole program in hand-written PostgreSQL: the reference
the benchmark holds `metrics.definitions.compute` to (issue #24: at most 1.2x this).

`raw_compute(start, end, now)` returns exactly what `compute(Scope(start, end, now=now))`
returns without a service filter, key by key and value by value. It is written the way one
would by hand against the schema: CTEs, `DISTINCT ON` / window functions for "each patient's
first (baseline) and latest response", GROUP BY (with GROUPING SETS where one pass serves
several splits) and `percentile_cont` for medians; one statement per metric group, values
always as parameters.

Where the two must agree to the last bit, the arithmetic is the app's own: elapsed days are
`EXTRACT(EPOCH ...)::float8 / 86400` (metrics.sql.DaysBetween), scaled scores are
`round((x::float8 * scale)::numeric(1000, 15), 0)` (Django's Round), and the final rounding is
half-up from the exact value (`_round1`, `_pct`). Python runs only where the app itself needs
the program calendar: the clinicians' available hours (appointments.availability) and the
working-day acknowledgement rule (outcomes.working_hours).

Run only after django.setup() (bench/jobs.py does it first); imports of the project wait
inside the functions for that reason.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

# The metric definitions' constants, restated (docs/product.md §3.6).
RISK_GROUPS = ("low", "medium", "high")
REFERRAL_STATES = ("new", "triaged", "scheduled", "in_treatment", "discharged", "declined",
                   "cancelled")
DOSE_BUCKETS = ("sessions_0", "sessions_1_3", "sessions_4_7", "sessions_8_plus")
FOLLOWUP_DUE_DAYS, FOLLOWUP_EARLY, FOLLOWUP_LATE = 84, 14, 28
NOT_IMPROVING_AFTER_DAYS = 84
STEP_UP_WITHIN = dt.timedelta(days=14)
CONTACT_WINDOW = dt.timedelta(days=30)
PSFS_MCID, PSFS_TOLERANCE = 2.0, 0.01

# Elapsed days between two timestamps, as metrics.sql.DaysBetween compiles it (a date operand
# is cast to timestamptz in the session's time zone, UTC, as the app's queries do).
DAYS = ("(CAST(EXTRACT(EPOCH FROM (({end})::timestamptz - ({start})::timestamptz))"
        " AS double precision) / 86400.0)")


def _days(end: str, start: str) -> str:
    return DAYS.format(end=end, start=start)


def _round1(value) -> float | None:
    """Half away from zero to 1 decimal, from the value's shortest repr (as the app does)."""
    from outcomes.instruments._common import round_half_up

    if value is None:
        return None
    return float(round_half_up(Decimal(str(value)), 1))


def _pct(part, whole) -> float | None:
    """100 * part / whole, rounded half-up to 1 decimal from the exact fraction."""
    from outcomes.instruments._common import round_half_up

    if not whole:
        return None
    return float(round_half_up(Fraction(100 * int(part), int(whole)), 1))


class _Period:
    """The scope's bounds: local midnights in the program's time zone (Django's default),
    `as_of` the end or now when the range is still running."""

    def __init__(self, start: dt.date, end: dt.date, now: dt.datetime):
        from django.utils import timezone

        tz = timezone.get_default_timezone()
        self.start, self.end, self.now = start, end, now
        self.start_at = timezone.make_aware(dt.datetime.combine(start, dt.time.min), tz)
        self.end_at = timezone.make_aware(
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min), tz)
        self.as_of = min(self.end_at, now)
        self.tz_name = timezone.get_default_timezone_name()

    def params(self, **extra) -> dict:
        return {"start": self.start, "end": self.end, "now": self.now,
                "start_at": self.start_at, "end_at": self.end_at, "as_of": self.as_of, **extra}


def raw_compute(start: dt.date, end: dt.date, now: dt.datetime) -> dict:
    """Every program metric for [start, end] (whole program), as JSON-ready values."""
    from django.db import connection

    p = _Period(start, end, now)
    out: dict = {}
    with connection.cursor() as cur:
        patients = _patients(cur, p)
        out["active_patients"] = patients["active"]
        out.update(_intakes(cur, p))
        out.update(_referrals(cur, p))
        out.update(_appointments(cur, p))
        out.update(_groups(cur, p))
        out["followup_completion_rate_12w"] = _followup_completion(cur, p)
        out.update(_responders(cur, p))
        out["mean_mme_intake"] = _round1(patients["mean_intake"])
        out["mean_mme_latest"] = _round1(patients["mean_latest"])
        out["pct_on_opioids"] = _pct(patients["on_opioids"], patients["known"])
        out["pct_mme_50"] = _pct(patients["mme_50"], patients["known"])
        out["pct_mme_90"] = _pct(patients["mme_90"], patients["known"])
        out["nps"] = _nps(cur, p)
        out.update(_alerts(cur, p))
        out.update(_care(cur, p))
        out["psfs_responders"] = _psfs_responders(cur, p)
    return out


# --- Patients: activity and opioid doses -----------------------------------------------------

def _patients(cur, p: _Period) -> dict:
    """Active patients (a referral open at some point in the period, an attended held group
    session, or a questionnaire answered in it) and their dose figures, in one pass."""
    cur.execute("""
        WITH active AS (
            SELECT patient_id FROM referrals_referral
             WHERE referred_at < %(end_at)s AND (closed_at IS NULL OR closed_at >= %(start_at)s)
            UNION
            SELECT a.patient_id
              FROM visits_attendance a JOIN visits_groupsession s ON s.id = a.session_id
             WHERE a.status = 'present' AND s.status = 'scheduled'
               AND s.starts_at >= %(start_at)s AND s.starts_at < %(end_at)s
            UNION
            SELECT patient_id FROM outcomes_questionnaireresponse
             WHERE answered_at >= %(start_at)s AND answered_at < %(end_at)s
        )
        SELECT count(*),
               avg(pt.baseline_mme) FILTER (WHERE pt.baseline_mme IS NOT NULL
                                              AND pt.current_mme IS NOT NULL),
               avg(pt.current_mme) FILTER (WHERE pt.baseline_mme IS NOT NULL
                                             AND pt.current_mme IS NOT NULL),
               count(pt.current_mme),
               count(*) FILTER (WHERE pt.current_mme > 0),
               count(*) FILTER (WHERE pt.current_mme >= 50),
               count(*) FILTER (WHERE pt.current_mme >= 90)
          FROM active JOIN patients_patient pt ON pt.id = active.patient_id
    """, p.params())
    keys = ("active", "mean_intake", "mean_latest", "known", "on_opioids", "mme_50", "mme_90")
    return dict(zip(keys, cur.fetchone(), strict=True))


def _intakes(cur, p: _Period) -> dict:
    """New intakes and the risk mix of each patient's latest intake in the period."""
    cur.execute("""
        SELECT DISTINCT ON (patient_id) risk_group
          FROM patients_intake
         WHERE created_at >= %(start_at)s AND created_at < %(end_at)s
         ORDER BY patient_id, created_at DESC, id DESC
    """, p.params())
    latest = [risk for (risk,) in cur.fetchall()]
    return {"new_intakes": len(latest),
            "risk_mix": {group: latest.count(group) for group in RISK_GROUPS}}


# --- Referrals --------------------------------------------------------------------------------

def _referrals(cur, p: _Period) -> dict:
    out = {}
    # Received in the period: the state at the end of the period from the transition history
    # (the latest event before it, ties by id; the current status without one), and whether
    # the wait for triage (to triage, closure, or now) ran past the service's target.
    cur.execute(f"""
        WITH received AS (
            SELECT r.id, r.status,
                   {_days("COALESCE(r.triaged_at, r.closed_at, %(now)s)", "r.referred_at")}
                       > s.sla_triage_days AS over_sla
              FROM referrals_referral r JOIN referrals_service s ON s.id = r.service_id
             WHERE r.referred_at >= %(start_at)s AND r.referred_at < %(end_at)s
        ), state_at_end AS (
            SELECT DISTINCT ON (e.referral_id) e.referral_id, e.to_status
              FROM referrals_referralevent e JOIN received ON received.id = e.referral_id
             WHERE e.at < %(end_at)s
             ORDER BY e.referral_id, e.at DESC, e.id DESC
        )
        SELECT COALESCE(st.to_status, r.status), count(*), count(*) FILTER (WHERE r.over_sla)
          FROM received r LEFT JOIN state_at_end st ON st.referral_id = r.id
         GROUP BY 1
    """, p.params())  # nosec B608 - the f-string inserts a fixed SQL fragment; values are params
    rows = cur.fetchall()
    counts = {state: n for state, n, _ in rows}
    out["referrals_by_state"] = {state: counts.get(state, 0) for state in REFERRAL_STATES}
    over_sla = (sum(over for _, _, over in rows), sum(n for _, n, _ in rows))

    # Three medians of days from referral, each over its own referrals.
    cur.execute(f"""
        WITH triaged AS (
            SELECT {_days("triaged_at", "referred_at")} AS days
              FROM referrals_referral
             WHERE triaged_at >= %(start_at)s AND triaged_at < %(end_at)s
        ), attended AS (        -- each referral's attended appointments
            SELECT referral_id, min(starts_at) AS first_at,
                   bool_or(starts_at >= %(start_at)s AND starts_at < %(end_at)s) AS in_period
              FROM appointments_appointment
             WHERE status = 'attended' AND referral_id IS NOT NULL
             GROUP BY referral_id
        ), candidates AS (      -- a first visit possibly in the period
            SELECT r.id, r.patient_id, r.service_id, r.referred_at, r.first_visit_at,
                   a.first_at AS first_appointment
              FROM referrals_referral r
              JOIN referrals_service s ON s.id = r.service_id
              LEFT JOIN attended a ON a.referral_id = r.id
             WHERE r.referred_at < %(end_at)s
               AND ((r.first_visit_at >= %(start_at)s AND r.first_visit_at < %(end_at)s)
                    OR a.in_period
                    OR (r.first_visit_at IS NULL AND s.is_group_based))
        ), group_visits AS (    -- attended held group sessions, by patient and service
            SELECT at.patient_id, ser.service_id, gs.starts_at
              FROM visits_attendance at
              JOIN visits_groupsession gs ON gs.id = at.session_id
              JOIN visits_groupseries ser ON ser.id = gs.series_id
             WHERE at.status = 'present' AND gs.status = 'scheduled'
        ), first_visits AS (    -- the group session after the referral only as the last resort
            SELECT c.referred_at,
                   COALESCE(c.first_appointment, c.first_visit_at, min(g.starts_at)) AS first_visit
              FROM candidates c
              LEFT JOIN group_visits g
                     ON c.first_appointment IS NULL AND c.first_visit_at IS NULL
                    AND g.patient_id = c.patient_id AND g.service_id = c.service_id
                    AND g.starts_at >= c.referred_at
             GROUP BY c.id, c.referred_at, c.first_appointment, c.first_visit_at
        ), first_appointments AS (  -- cancelled appointments left out
            SELECT r.referred_at, min(a.starts_at) AS first_at
              FROM appointments_appointment a JOIN referrals_referral r ON r.id = a.referral_id
             WHERE a.status NOT IN ('cancelled_by_patient', 'cancelled_by_clinic')
               AND r.referred_at < %(end_at)s
             GROUP BY r.id
            HAVING min(a.starts_at) >= %(start_at)s AND min(a.starts_at) < %(end_at)s
        )
        SELECT (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM triaged),
               (SELECT percentile_cont(0.5) WITHIN GROUP (
                           ORDER BY {_days("first_visit", "referred_at")})
                  FROM first_visits
                 WHERE first_visit >= %(start_at)s AND first_visit < %(end_at)s),
               (SELECT percentile_cont(0.5) WITHIN GROUP (
                           ORDER BY {_days("first_at", "referred_at")})
                  FROM first_appointments)
    """, p.params())  # nosec B608 - as above
    triage, first_visit, first_appointment = cur.fetchone()
    out["median_days_referral_to_triage"] = _round1(triage)
    out["median_days_referral_to_first_visit"] = _round1(first_visit)
    out["pct_over_sla"] = _pct(*over_sla)
    out["median_days_referral_to_first_appointment"] = _round1(first_appointment)
    return out


# --- Individual appointments -----------------------------------------------------------------

def _appointments(cur, p: _Period) -> dict:
    from appointments.availability import open_spans_for
    from appointments.rules import Span
    from patients.models import Program

    cur.execute("""
        SELECT s.code, count(*), count(*) FILTER (WHERE a.status = 'did_not_attend')
          FROM appointments_appointment a JOIN referrals_service s ON s.id = a.service_id
         WHERE a.starts_at >= %(start_at)s AND a.starts_at < %(end_at)s
           AND a.status IN ('attended', 'did_not_attend')
         GROUP BY s.code
         ORDER BY s.code
    """, p.params())
    dna = {code: _pct(missed, n) for code, n, missed in cur.fetchall()}

    # Minutes held (booked, attended or not attended) per clinician, for every clinician with
    # such an appointment or with weekly hours.
    cur.execute("""
        WITH held AS (
            SELECT clinician_id, sum(duration_minutes) AS minutes
              FROM appointments_appointment
             WHERE starts_at >= %(start_at)s AND starts_at < %(end_at)s
               AND status IN ('booked', 'attended', 'did_not_attend')
             GROUP BY clinician_id
        ), clinicians AS (
            SELECT clinician_id FROM held
            UNION
            SELECT clinician_id FROM appointments_weeklyavailability
        )
        SELECT c.clinician_id, u.username, COALESCE(h.minutes, 0)
          FROM clinicians c
          JOIN auth_user u ON u.id = c.clinician_id
          LEFT JOIN held h ON h.clinician_id = c.clinician_id
         ORDER BY u.username
    """, p.params())
    clinicians = cur.fetchall()
    # Available hours need the program calendar (weekly windows at each site, less leave and
    # public holidays): the app's own Python, as booked_hours_ratio calls it.
    spans = open_spans_for(clinician_ids=sorted(cid for cid, _, _ in clinicians),
                           program=Program.default(), start=p.start, end=p.end)
    window = Span(p.start_at, p.end_at)
    booked = {}
    for cid, username, minutes in clinicians:
        available = sum(min(s.end, window.end).timestamp() - max(s.start, window.start).timestamp()
                        for _site, s in spans.get(cid, []) if s.overlaps(window)) / 60
        booked[username] = _pct(minutes, round(available)) if available else None
    return {"dna_rate_by_service": dna, "booked_hours_ratio": booked}


# --- Group visits -----------------------------------------------------------------------------

def _groups(cur, p: _Period) -> dict:
    cur.execute("""
        WITH held AS (
            SELECT id, series_id, starts_at FROM visits_groupsession WHERE status = 'scheduled'
        ), fill AS (            -- series with a held session in the period
            SELECT sum(COALESCE(e.seats, 0))::bigint AS seats, sum(ser.capacity)::bigint AS capacity
              FROM visits_groupseries ser
              LEFT JOIN (SELECT series_id, count(*) AS seats FROM visits_enrolment
                          WHERE status IN ('enrolled', 'completed') GROUP BY series_id) e
                     ON e.series_id = ser.id
             WHERE ser.id IN (SELECT series_id FROM held
                               WHERE starts_at >= %(start_at)s AND starts_at < %(end_at)s)
        ), marked AS (          -- attendance at sessions held so far in the period
            SELECT count(*) FILTER (WHERE a.status IN ('present', 'absent', 'late_cancel')) AS n,
                   count(*) FILTER (WHERE a.status = 'present') AS present
              FROM visits_attendance a JOIN held s ON s.id = a.session_id
             WHERE s.starts_at >= %(start_at)s AND s.starts_at < %(as_of)s
        ), ended AS (           -- series whose last held session is in the period, so far
            SELECT series_id, min(starts_at) AS first_start,
                   count(*) FILTER (WHERE starts_at < %(now)s) AS sessions
              FROM held GROUP BY series_id
            HAVING max(starts_at) >= %(start_at)s AND max(starts_at) < %(as_of)s
        ), present AS (
            SELECT s.series_id, a.patient_id, count(*) AS attended
              FROM visits_attendance a JOIN held s ON s.id = a.session_id
             WHERE a.status = 'present' AND s.series_id IN (SELECT series_id FROM ended)
             GROUP BY s.series_id, a.patient_id
        ), completion AS (      -- completed: attended / held >= 3/4, in integers
            SELECT count(*) AS n,
                   count(*) FILTER (WHERE 4 * COALESCE(pr.attended, 0) - 3 * e.sessions >= 0)
                       AS done
              FROM visits_enrolment en
              JOIN ended e ON e.series_id = en.series_id
              LEFT JOIN present pr ON pr.series_id = en.series_id AND pr.patient_id = en.patient_id
             WHERE en.status IN ('enrolled', 'completed')
                OR (en.status = 'withdrawn' AND en.withdrawn_at >= e.first_start)
        )
        SELECT fill.seats, fill.capacity, marked.present, marked.n, completion.done, completion.n,
               (SELECT count(*) FROM visits_enrolment
                 WHERE status = 'waitlisted' AND enrolled_at < %(end_at)s)
          FROM fill, marked, completion
    """, p.params())
    seats, capacity, present, marked, done, ended, waitlist = cur.fetchone()
    return {"group_fill_rate": _pct(seats or 0, capacity or 0),
            "attendance_rate": _pct(present, marked),
            "completion_rate": _pct(done, ended),
            "waitlist_length": waitlist}


# --- Outcomes ---------------------------------------------------------------------------------

def _followup_completion(cur, p: _Period) -> float | None:
    """Patients whose intake date + 84 days falls in the period, and those of them with a
    follow-up PEG answered from 14 days before to 28 days after that day."""
    params = p.params(due=FOLLOWUP_DUE_DAYS, from_day=FOLLOWUP_DUE_DAYS - FOLLOWUP_EARLY,
                      to_day=FOLLOWUP_DUE_DAYS + FOLLOWUP_LATE + 1)
    cur.execute(f"""
        WITH due AS (
            SELECT id, intake_date FROM patients_patient
             WHERE intake_date BETWEEN %(start)s::date - %(due)s AND %(end)s::date - %(due)s
        ), answered AS (
            SELECT DISTINCT d.id
              FROM due d JOIN outcomes_questionnaireresponse q ON q.patient_id = d.id
             WHERE q.instrument = 'peg' AND q.context <> 'intake'
               AND {_days("q.answered_at", "d.intake_date")} >= %(from_day)s
               AND {_days("q.answered_at", "d.intake_date")} < %(to_day)s
        )
        SELECT (SELECT count(*) FROM answered), (SELECT count(*) FROM due)
    """, params)  # nosec B608 - as above
    return _pct(*cur.fetchone())


def _measures() -> list[tuple]:
    """The responder measures the instruments declare, with their MCID rule as integers:
    (key, instrument, JSON path or None for the primary score, scale, sign, numerator,
    denominator, relative). Read from the instrument registry, which owns these facts."""
    from outcomes.instruments import all_instruments, mcid_rule

    out = []
    for inst in all_instruments():
        for m in inst.measures:
            rule = mcid_rule(inst.code, m.score_key)
            threshold = Fraction(rule.threshold)
            primary = m.score_key == inst.primary_key and "." not in m.score_key
            out.append((m.key, inst.code, None if primary else m.score_key.split("."), m.scale,
                        rule.sign, threshold.numerator, threshold.denominator, rule.relative))
    return out


def _responders(cur, p: _Period) -> dict:
    """Per measure: each patient's latest scored response in the period that is not their
    first scored response (the baseline), whether it improved on the baseline by the MCID,
    grouped once for the overall rate and the splits by baseline risk group (first intake)
    and by attended group sessions up to that response."""
    measures = _measures()
    values = ", ".join(["(%s, %s, %s::text[], %s, %s, %s, %s, %s)"] * len(measures))
    cur.execute(f"""
        WITH measure (ord, instrument, path, scale, sign, num, den, relative) AS (
            VALUES {values}
        ), scored AS (          -- x scale: whole numbers, so the MCID test is exact
            SELECT m.ord, m.sign, m.num, m.den, m.scale, m.relative,
                   q.id, q.patient_id, q.answered_at,
                   round((CASE WHEN m.path IS NULL THEN q.primary_score::float8
                               ELSE (q.scores #>> m.path)::float8 END
                          * m.scale)::numeric(1000, 15), 0) AS v
              FROM measure m JOIN outcomes_questionnaireresponse q ON q.instrument = m.instrument
        ), ranked AS (          -- in (time, id) order: the first one is the baseline
            SELECT scored.*, first_value(v) OVER w AS baseline, row_number() OVER w AS nth
              FROM scored WHERE v IS NOT NULL
            WINDOW w AS (PARTITION BY ord, patient_id ORDER BY answered_at, id)
        ), latest AS (          -- each patient's latest in the period, ties by id
            SELECT DISTINCT ON (ord, patient_id) *
              FROM ranked
             WHERE answered_at >= %s AND answered_at < %s
             ORDER BY ord, patient_id, answered_at DESC, id DESC
        ), followup AS (        -- gain in the improving direction vs what the MCID needs
            SELECT ord, patient_id, answered_at,
                   ((v - baseline) * sign * den)::float8
                       >= CASE WHEN relative THEN (abs(baseline) * num)::float8
                               ELSE (num * scale)::float8 END
                   AND ((v - baseline) * sign * den)::float8 > 0 AS responder
              FROM latest
             WHERE nth > 1       -- not the baseline itself
        ), attended AS (
            SELECT a.patient_id, s.starts_at
              FROM visits_attendance a JOIN visits_groupsession s ON s.id = a.session_id
             WHERE a.status = 'present' AND s.status = 'scheduled'
        ), dosed AS (
            SELECT f.ord, f.patient_id, f.responder, count(a.starts_at) AS sessions
              FROM followup f
              LEFT JOIN attended a ON a.patient_id = f.patient_id AND a.starts_at <= f.answered_at
             GROUP BY f.ord, f.patient_id, f.responder
        ), first_intake AS (
            SELECT DISTINCT ON (patient_id) patient_id, risk_group
              FROM patients_intake
             WHERE patient_id IN (SELECT patient_id FROM followup)
             ORDER BY patient_id, created_at, id
        ), classified AS (
            SELECT d.ord, d.responder,
                   COALESCE(fi.risk_group, pt.risk_group) AS risk,
                   CASE WHEN d.sessions = 0 THEN 'sessions_0'
                        WHEN d.sessions <= 3 THEN 'sessions_1_3'
                        WHEN d.sessions <= 7 THEN 'sessions_4_7'
                        ELSE 'sessions_8_plus' END AS bucket
              FROM dosed d
              JOIN patients_patient pt ON pt.id = d.patient_id
              LEFT JOIN first_intake fi ON fi.patient_id = d.patient_id
        )
        SELECT ord, GROUPING(risk), risk, GROUPING(bucket), bucket,
               count(*), count(*) FILTER (WHERE responder)
          FROM classified
         GROUP BY GROUPING SETS ((ord), (ord, risk), (ord, bucket))
    """, [*(x for i, m in enumerate(measures) for x in (i, *m[1:])), p.start_at, p.end_at])  # nosec B608 - placeholders only
    keys = [m[0] for m in measures]
    overall, by_risk, by_bucket = {}, {}, {}
    for ord_, no_risk, risk, no_bucket, bucket, n, done in cur.fetchall():
        key = keys[ord_]
        if no_risk and no_bucket:
            overall[key] = _pct(done, n)
        elif no_bucket:
            by_risk[(risk, key)] = _pct(done, n)
        else:
            by_bucket[(bucket, key)] = _pct(done, n)
    return {
        "responders": {k: overall.get(k) for k in keys},
        "responders_by_risk_group": {g: {k: by_risk.get((g, k)) for k in keys}
                                     for g in RISK_GROUPS},
        "responders_by_attendance_dose": {b: {k: by_bucket.get((b, k)) for k in keys}
                                          for b in DOSE_BUCKETS},
    }


# --- Satisfaction and safety --------------------------------------------------------------------

def _nps(cur, p: _Period) -> float | None:
    """Each patient's latest NPS answer in the period: promoters 9-10, detractors 0-6."""
    cur.execute("""
        WITH latest AS (
            SELECT DISTINCT ON (patient_id) primary_score
              FROM outcomes_questionnaireresponse
             WHERE instrument = 'nps' AND primary_score IS NOT NULL
               AND answered_at >= %(start_at)s AND answered_at < %(end_at)s
             ORDER BY patient_id, answered_at DESC, id DESC
        )
        SELECT count(*) FILTER (WHERE primary_score >= 9) - count(*) FILTER (WHERE primary_score <= 6),
               count(*)
          FROM latest
    """, p.params())
    return _pct(*cur.fetchone())


def _alerts(cur, p: _Period) -> dict:
    from outcomes.working_hours import program_calendar, working_hours_between
    from patients.models import Program

    cur.execute("""
        SELECT count(*) FROM outcomes_safetyalert
         WHERE opened_at < %(end_at)s
           AND (acknowledged_at IS NULL OR acknowledged_at >= %(end_at)s)
    """, p.params())
    (still_open,) = cur.fetchone()

    # Median days to acknowledge over alerts acknowledged in the period: overall and per
    # site (the patient's), every site listed. Hours are days x 24 in Python, as the app
    # computes them, so both round the same float.
    cur.execute(f"""
        WITH acknowledged AS (
            SELECT pt.site_id, {_days("a.acknowledged_at", "a.opened_at")} AS days
              FROM outcomes_safetyalert a JOIN patients_patient pt ON pt.id = a.patient_id
             WHERE a.acknowledged_at >= %(start_at)s AND a.acknowledged_at < %(end_at)s
        )
        SELECT s.code, percentile_cont(0.5) WITHIN GROUP (ORDER BY ack.days)
          FROM patients_site s LEFT JOIN acknowledged ack ON ack.site_id = s.id
         GROUP BY GROUPING SETS ((), (s.id, s.code))
         ORDER BY s.id NULLS FIRST
    """, p.params())  # nosec B608 - as above
    (_, overall), *sites = cur.fetchall()

    # Within one working day needs the program calendar (weekends, public holidays): the
    # app's own working-hours Python, over the alerts opened in the period.
    cur.execute("""
        SELECT a.opened_at, a.acknowledged_at, s.code, pt.program_id
          FROM outcomes_safetyalert a
          JOIN patients_patient pt ON pt.id = a.patient_id
          JOIN patients_site s ON s.id = pt.site_id
         WHERE a.opened_at >= %(start_at)s AND a.opened_at < %(end_at)s
    """, p.params())
    opened = cur.fetchall()
    calendars = {}
    for program in Program.objects.all():
        calendar = program_calendar(program, for_escalation=False)
        # The working day is the program's longest opening (8 h for 09:00-17:00); 24 h unset.
        day = max(((dt.datetime.combine(dt.date.min, close)
                    - dt.datetime.combine(dt.date.min, open_)).total_seconds() / 3600
                   for open_, close in (d for d in calendar.week if d)), default=24.0)
        calendars[program.pk] = (calendar, day)
    within: dict[str | None, list[bool]] = {None: []}
    for opened_at, acknowledged_at, site, program_id in opened:
        calendar, day = calendars[program_id]
        if acknowledged_at is not None and acknowledged_at <= p.as_of:
            verdict = working_hours_between(opened_at, acknowledged_at, calendar) <= day
        elif working_hours_between(opened_at, p.as_of, calendar) > day:
            verdict = False
        else:
            continue  # still open, and a working day has not passed yet
        within[None].append(verdict)
        within.setdefault(site, []).append(verdict)

    def pct_within(site):
        known = within.get(site, [])
        return _pct(sum(known), len(known))

    return {
        "open_safety_alerts": still_open,
        "median_hours_to_acknowledge": None if overall is None else _round1(overall * 24),
        "pct_acknowledged_within_working_day": pct_within(None),
        "alert_acknowledgement_by_site": {
            code: {"median_hours": None if days is None else _round1(days * 24),
                   "pct_within_working_day": pct_within(code)}
            for code, days in sites},
    }


# --- Care management ------------------------------------------------------------------------------

def _care(cur, p: _Period) -> dict:
    # Reached in the 30 days up to the end of the period (or now): computed on the aware
    # datetime as the app does (wall-clock days in the program's zone across a DST change).
    cur.execute("""
        WITH managed AS (
            SELECT id FROM patients_patient WHERE step >= 2 OR care_manager_id IS NOT NULL
        ), reached AS (
            SELECT DISTINCT patient_id FROM care_contact
             WHERE outcome = 'reached' AND contacted_at >= %(since)s AND contacted_at < %(as_of)s
        )
        SELECT count(r.patient_id), count(*)
          FROM managed m LEFT JOIN reached r ON r.patient_id = m.id
    """, p.params(since=p.as_of - CONTACT_WINDOW))
    contacted = _pct(*cur.fetchone())

    cur.execute("""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total)
          FROM (SELECT sum(minutes) AS total
                  FROM care_contact
                 WHERE contacted_at >= %(start_at)s AND contacted_at < %(end_at)s AND minutes > 0
                 GROUP BY patient_id, date_trunc('month', contacted_at AT TIME ZONE %(tz)s)) monthly
    """, p.params(tz=p.tz_name))
    (minutes,) = cur.fetchone()

    # PEG follow-ups in the period, 12 weeks or more after the intake date, that are not the
    # patient's first PEG and do not fall by 30 % from it (item sums: score x 3), and whether a
    # step-up decision followed within 14 days.
    cur.execute(f"""
        WITH peg AS (
            SELECT id, patient_id, answered_at, primary_score,
                   first_value(id) OVER w AS first_id,
                   first_value(primary_score) OVER w AS first_score
              FROM outcomes_questionnaireresponse
             WHERE instrument = 'peg'
            WINDOW w AS (PARTITION BY patient_id ORDER BY answered_at, id)
        ), flagged AS (
            SELECT peg.patient_id, peg.answered_at
              FROM peg JOIN patients_patient pt ON pt.id = peg.patient_id
             WHERE peg.answered_at >= %(start_at)s AND peg.answered_at < %(end_at)s
               AND pt.intake_date IS NOT NULL
               AND {_days("peg.answered_at", "pt.intake_date")} >= %(after_days)s
               AND peg.id <> peg.first_id
               AND (round((peg.primary_score::float8 * 3)::numeric(1000, 15), 0) * 10
                    > round((peg.first_score::float8 * 3)::numeric(1000, 15), 0) * 7
                    OR round((peg.primary_score::float8 * 3)::numeric(1000, 15), 0)
                    >= round((peg.first_score::float8 * 3)::numeric(1000, 15), 0))
        )
        SELECT count(DISTINCT f.patient_id) FILTER (WHERE s.id IS NOT NULL),
               count(DISTINCT f.patient_id)
          FROM flagged f
          LEFT JOIN care_stepdecision s
                 ON s.patient_id = f.patient_id AND s.direction = 'up'
                AND s.decided_at >= f.answered_at AND s.decided_at <= f.answered_at + %(within)s
    """, p.params(after_days=NOT_IMPROVING_AFTER_DAYS, within=STEP_UP_WITHIN))  # nosec B608 - as above
    stepped = _pct(*cur.fetchone())
    return {"pct_contacted_30d": contacted,
            "median_care_minutes_per_month": _round1(minutes),
            "pct_step_up_after_not_improving_2w": stepped}


def _psfs_responders(cur, p: _Period) -> float | None:
    """Each patient's latest PSFS in the period, when not their first PSFS: did the mean
    rating rise by the MCID (2 points; 0.01 absorbs the 2-decimal rounding of the means)."""
    cur.execute("""
        WITH psfs AS (
            SELECT id, patient_id, answered_at, primary_score,
                   first_value(id) OVER w AS first_id,
                   first_value(primary_score) OVER w AS first_score
              FROM outcomes_questionnaireresponse
             WHERE instrument = 'psfs'
            WINDOW w AS (PARTITION BY patient_id ORDER BY answered_at, id)
        ), latest AS (
            SELECT DISTINCT ON (patient_id) id, first_id, primary_score, first_score
              FROM psfs
             WHERE answered_at >= %(start_at)s AND answered_at < %(end_at)s
             ORDER BY patient_id, answered_at DESC, id DESC
        )
        SELECT count(*) FILTER (WHERE primary_score >= first_score + %(rise)s), count(*)
          FROM latest WHERE id <> first_id
    """, p.params(rise=PSFS_MCID - PSFS_TOLERANCE))
    return _pct(*cur.fetchone())
