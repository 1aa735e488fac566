"""Daily roll-ups for the responder metrics and the active patients (docs/product.md §3.6), kept
by the worker so the dashboard and the API read a few thousand rows instead of every
questionnaire response, referral and attendance.

The responder metrics need, per patient, the latest response of a measure in the period and
the first response ever (the baseline). "Latest in the period" does not add up day by day,
but it can be counted exactly from daily rows: a follow-up is its patient's latest in
[start, end] exactly when it was answered in the period and the patient's next response of
the measure was answered after `end` (or not yet). So each follow-up becomes one
`ResponderFact` (its day, its next response's day, whether it reached the MCID against the
baseline, the baseline risk group and the attendance dose), and `ResponderDay` counts the
facts per (measure, site, day, next day, risk group, dose). A period's figures are one
grouped sum over its days. Active patients work the same way with spans: each patient's
activity merged into stretches of days (`ActivitySpan`), one of which overlaps the period
and is followed by a span starting after it exactly when the patient was active; counted
per (site, first day, last day, next span's first day) in `ActivityDay`. Referrals by state
likewise: each referral's history as stretches of days in one state (`ReferralStateFact`),
one of which holds at the end of the period.

Exactness: the roll-ups are a pure function of the responses, intakes, attendance, sessions,
referrals and patients they were built from. Database triggers on those tables (migration
metrics 0006) queue the patient of every inserted, updated or deleted row in
`metrics_changedpatient`, in the writer's own transaction. `is_current()` is true while that
queue is empty, and the metrics read live otherwise, so a figure is never stale: a row
still being written is invisible to both. `refresh()` (beat, every few minutes; before each
snapshot and each API read) claims the queue and rebuilds the facts of just those patients,
and the days their facts touch.

PostgreSQL only: the embedded SQLite default is small enough for the live queries.
"""

from __future__ import annotations

import time
from fractions import Fraction

from django.conf import settings
from django.db import connection, connections, router, transaction
from django.utils import timezone

from outcomes.instruments import mcid_rule

from .models import (
    EARLIEST,
    OPEN,
    ActivityDay,
    ActivitySpan,
    ReferralStateDay,
    ReferralStateFact,
    ResponderDay,
    ResponderFact,
    RollupState,
)

NAME = "responders"
_LOCK = 0x1B5_0A11  # pg_advisory_xact_lock key: one refresh at a time

def enabled() -> bool:
    return connection.vendor == "postgresql" and getattr(settings, "IPM_METRICS_ROLLUPS", True)


def _reader():
    """The connection reads go to (the replica inside `on_replica`, else the primary), so
    the queue, the state and the daily rows are read from one database."""
    return connections[router.db_for_read(ResponderDay)]


def state() -> RollupState | None:
    return RollupState.objects.filter(name=NAME).first()


def _state_for_update() -> RollupState | None:
    return RollupState.objects.using("default").filter(name=NAME).first()


def is_current() -> bool:
    """Whether the roll-ups reflect every committed row right now: they have been built and
    no patient is queued as changed since (one index probe)."""
    if not enabled() or state() is None:
        return False
    with _reader().cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM metrics_changedpatient)")
        return not cur.fetchone()[0]


# --- Building the facts -------------------------------------------------------------------

def _value_sql(measure) -> str:
    """The measure's scaled integer value, as metrics.definitions.Measure.value() compiles it."""
    if measure.json_path:
        path = "{" + ",".join(measure.json_path.split("__")) + "}"
        raw = f"CAST((r.scores #>> '{path}') AS double precision)"
    else:
        raw = "CAST(r.primary_score AS double precision)"
    return f"ROUND({raw} * {int(measure.scale)})"


def _reached_sql(measure) -> str:
    """metrics.definitions._mcid_reached in SQL, over `base_v` and `v` (scaled integers)."""
    rule = mcid_rule(measure.instrument, measure.score_key)
    threshold = Fraction(rule.threshold)
    gain = f"CAST((k.v - k.base_v) * {int(rule.sign)} * {threshold.denominator} AS double precision)"
    if rule.relative:
        need = f"CAST(abs(k.base_v) * {threshold.numerator} AS double precision)"
    else:
        need = f"{float(threshold.numerator * measure.scale)!r}"
    return f"({gain} >= {need} AND {gain} > 0.0)"


def _insert_facts(measure, patient_ids: list[int] | None) -> None:
    """The follow-ups of `measure` (every scored response after the patient's first), for the
    given patients or everyone. Windows over each patient's responses in (time, id) order
    give the baseline and the next response; the baseline risk group (first intake, else the
    patient's) and the dose (present at held sessions up to the response) are one indexed
    lookup per follow-up."""
    only = "AND r.patient_id = ANY(%(patients)s)" if patient_ids is not None else ""
    # The PEG headline also decides the not-improving flag (outcomes.progress; the metric
    # pct_step_up_after_not_improving_2w): 12 weeks or more after the intake date, and the
    # item sum not down by 30 % on the baseline (10 x latest > 7 x baseline), or not down at
    # all (a baseline of 0 cannot improve), as
    # metrics.definitions._not_improving_pegs compares them.
    not_improving = (f"""(p.intake_date IS NOT NULL
          AND CAST(EXTRACT(EPOCH FROM (k.answered_at::timestamptz - p.intake_date::timestamptz))
                   AS double precision) / 86400.0 >= {NOT_IMPROVING_AFTER_DAYS}
          AND (k.v * 10 > k.base_v * 7 OR k.v >= k.base_v))""" if _is_peg_headline(measure)
                     else "NULL")
    sql = f"""
    WITH scored AS (
        SELECT r.id, r.patient_id, r.answered_at, {_value_sql(measure)} AS v
        FROM outcomes_questionnaireresponse r
        WHERE r.instrument = %(instrument)s {only}
    ), ranked AS (
        SELECT s.id, s.patient_id, s.answered_at, s.v,
               first_value(s.v) OVER w AS base_v,
               row_number() OVER w AS rn,
               lead(s.answered_at) OVER w AS next_at
        FROM scored s WHERE s.v IS NOT NULL
        WINDOW w AS (PARTITION BY s.patient_id ORDER BY s.answered_at, s.id)
    )
    INSERT INTO metrics_responderfact
        (response_id, measure, patient_id, site_id, day, next_day, risk, dose, responder,
         not_improving)
    SELECT k.id, %(measure)s, k.patient_id, p.site_id,
           (k.answered_at AT TIME ZONE %(tz)s)::date,
           (k.next_at AT TIME ZONE %(tz)s)::date,
           COALESCE((SELECT i.risk_group FROM patients_intake i WHERE i.patient_id = k.patient_id
                     ORDER BY i.created_at, i.id LIMIT 1), p.risk_group),
           (SELECT count(*) FROM visits_attendance a
              JOIN visits_groupsession gs ON gs.id = a.session_id
             WHERE a.patient_id = k.patient_id AND a.status = 'present'
               AND gs.status = 'scheduled' AND gs.starts_at <= k.answered_at),
           {_reached_sql(measure)}, {not_improving}
    FROM ranked k JOIN patients_patient p ON p.id = k.patient_id
    WHERE k.rn > 1
    """  # nosec B608 - the interpolated pieces come from the instrument registry, not input
    with connection.cursor() as cur:
        cur.execute(sql, {"instrument": measure.instrument, "measure": measure.key,
                          "patients": patient_ids, "tz": timezone.get_default_timezone_name()})


def _insert_spans(patient_ids: list[int] | None) -> None:
    """Each patient's activity merged into spans of days (gaps and islands): a referral is
    active from the day it was received to the day it closed (open: OPEN), a present
    attendance at a held session and an answered questionnaire on their day. A span starts
    where a day is not covered by anything before it; `next_start` is the following span's
    first day."""
    only = "AND {col} = ANY(%(patients)s)" if patient_ids is not None else ""
    sql = f"""
    WITH activity AS (
        SELECT r.patient_id, (r.referred_at AT TIME ZONE %(tz)s)::date AS a,
               COALESCE((r.closed_at AT TIME ZONE %(tz)s)::date, DATE %(open)s) AS b
        FROM referrals_referral r WHERE true {only.format(col="r.patient_id")}
        UNION ALL
        SELECT a.patient_id, (gs.starts_at AT TIME ZONE %(tz)s)::date,
               (gs.starts_at AT TIME ZONE %(tz)s)::date
        FROM visits_attendance a JOIN visits_groupsession gs ON gs.id = a.session_id
        WHERE a.status = 'present' AND gs.status = 'scheduled' {only.format(col="a.patient_id")}
        UNION ALL
        SELECT q.patient_id, (q.answered_at AT TIME ZONE %(tz)s)::date,
               (q.answered_at AT TIME ZONE %(tz)s)::date
        FROM outcomes_questionnaireresponse q WHERE true {only.format(col="q.patient_id")}
    ), days AS (
        SELECT DISTINCT patient_id, a, b FROM activity
    ), marked AS (
        SELECT patient_id, a, b,
               CASE WHEN a <= max(b) OVER (PARTITION BY patient_id ORDER BY a, b
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS starts
        FROM days
    ), islands AS (
        SELECT patient_id, a, b,
               sum(starts) OVER (PARTITION BY patient_id ORDER BY a, b) AS island
        FROM marked
    ), spans AS (
        SELECT patient_id, min(a) AS a, max(b) AS b FROM islands GROUP BY patient_id, island
    )
    INSERT INTO metrics_activityspan
        (patient_id, site_id, start, "end", next_start, baseline_mme, current_mme)
    SELECT s.patient_id, p.site_id, s.a, s.b,
           COALESCE(lead(s.a) OVER (PARTITION BY s.patient_id ORDER BY s.a), DATE %(open)s),
           p.baseline_mme, p.current_mme
    FROM spans s JOIN patients_patient p ON p.id = s.patient_id
    """  # nosec B608 - constant fragments; values are parameters
    with connection.cursor() as cur:
        cur.execute(sql, {"patients": patient_ids, "tz": timezone.get_default_timezone_name(),
                          "open": OPEN})


_ACTIVITY_ROLL_UP = """
INSERT INTO metrics_activityday
    (site_id, start, "end", next_start, patients, paired, baseline_mme_sum, current_mme_sum,
     known, on_opioids, mme_50, mme_90)
SELECT site_id, start, "end", next_start, count(*),
       count(*) FILTER (WHERE baseline_mme IS NOT NULL AND current_mme IS NOT NULL),
       COALESCE(sum(baseline_mme) FILTER (WHERE current_mme IS NOT NULL), 0),
       COALESCE(sum(current_mme) FILTER (WHERE baseline_mme IS NOT NULL), 0),
       count(*) FILTER (WHERE current_mme IS NOT NULL),
       count(*) FILTER (WHERE current_mme > 0),
       count(*) FILTER (WHERE current_mme >= 50),
       count(*) FILTER (WHERE current_mme >= 90)
FROM metrics_activityspan {where}
GROUP BY site_id, start, "end", next_start
"""


def patient_summary(scope) -> dict:
    """metrics.definitions._patient_summary from the spans: the active patients of the
    scope's period (and site), counted once each, with their dose figures."""
    site = "AND site_id = %(site)s" if scope.site is not None else ""
    sql = f"""
    SELECT COALESCE(sum(patients), 0), COALESCE(sum(paired), 0), sum(baseline_mme_sum),
           sum(current_mme_sum), COALESCE(sum(known), 0), COALESCE(sum(on_opioids), 0),
           COALESCE(sum(mme_50), 0), COALESCE(sum(mme_90), 0)
    FROM metrics_activityday
    WHERE start <= %(end)s AND "end" >= %(start)s AND next_start > %(end)s {site}
    """  # nosec B608 - a constant fragment; values are parameters
    with _reader().cursor() as cur:
        cur.execute(sql, {"start": scope.start, "end": scope.end,
                          "site": getattr(scope.site, "pk", None)})
        active, paired, base_sum, current_sum, known, on, m50, m90 = cur.fetchone()
    return {"active": int(active), "known": int(known), "on_opioids": int(on),
            "mme_50": int(m50), "mme_90": int(m90),
            "mean_intake": base_sum / paired if paired else None,
            "mean_latest": current_sum / paired if paired else None}


def _insert_referral_states(patient_ids: list[int] | None) -> None:
    """Each referral's states as stretches of days, from its events in (time, id) order; and
    before the first event (or with none), its current status, the live rule's fallback."""
    only = "AND r.patient_id = ANY(%(patients)s)" if patient_ids is not None else ""
    sql = f"""
    WITH received AS (
        SELECT r.id, r.patient_id, r.status, p.site_id,
               (r.referred_at AT TIME ZONE %(tz)s)::date AS referred_day
        FROM referrals_referral r JOIN patients_patient p ON p.id = r.patient_id
        WHERE true {only}
    ), events AS (
        SELECT e.referral_id, e.to_status, (e.at AT TIME ZONE %(tz)s)::date AS day,
               lead((e.at AT TIME ZONE %(tz)s)::date) OVER w AS next_day,
               row_number() OVER w AS n
        FROM referrals_referralevent e JOIN received r ON r.id = e.referral_id
        WINDOW w AS (PARTITION BY e.referral_id ORDER BY e.at, e.id)
    )
    INSERT INTO metrics_referralstatefact
        (referral_id, patient_id, site_id, referred_day, state, from_day, to_day)
    SELECT r.id, r.patient_id, r.site_id, r.referred_day, e.to_status, e.day,
           COALESCE(e.next_day, DATE %(open)s)
    FROM events e JOIN received r ON r.id = e.referral_id
    UNION ALL
    SELECT r.id, r.patient_id, r.site_id, r.referred_day, r.status, DATE %(earliest)s,
           COALESCE(e.day, DATE %(open)s)
    FROM received r LEFT JOIN events e ON e.referral_id = r.id AND e.n = 1
    """  # nosec B608 - constant fragments; values are parameters
    with connection.cursor() as cur:
        cur.execute(sql, {"patients": patient_ids, "tz": timezone.get_default_timezone_name(),
                          "open": OPEN, "earliest": EARLIEST})


_REFERRAL_ROLL_UP = """
INSERT INTO metrics_referralstateday (site_id, referred_day, state, from_day, to_day, referrals)
SELECT site_id, referred_day, state, from_day, to_day, count(*)
FROM metrics_referralstatefact {where}
GROUP BY site_id, referred_day, state, from_day, to_day
"""


def referrals_by_state(scope) -> dict[str, int]:
    """Referrals received in the scope's period (and site), counted by their state at the
    end of the period."""
    site = "AND site_id = %(site)s" if scope.site is not None else ""
    sql = f"""
    SELECT state, sum(referrals) FROM metrics_referralstateday
    WHERE referred_day BETWEEN %(start)s AND %(end)s
      AND from_day <= %(end)s AND to_day > %(end)s {site}
    GROUP BY state
    """  # nosec B608 - a constant fragment; values are parameters
    with _reader().cursor() as cur:
        cur.execute(sql, {"start": scope.start, "end": scope.end,
                          "site": getattr(scope.site, "pk", None)})
        return {state: int(n) for state, n in cur.fetchall()}


NOT_IMPROVING_AFTER_DAYS = 84  # as metrics.definitions (outcomes.progress: 12 weeks)


def _is_peg_headline(measure) -> bool:
    return measure.instrument == "peg" and not measure.json_path


def not_improving_facts(scope):
    """The PEG follow-ups answered in the scope's period (and site) that flag their patient
    as not improving: rows with `patient_id` and `response__answered_at`."""
    facts = ResponderFact.objects.filter(measure=next(m.key for m in _measures()
                                                      if _is_peg_headline(m)),
                                         not_improving=True, day__gte=scope.start,
                                         day__lte=scope.end)
    if scope.site is not None:
        facts = facts.filter(site=scope.site)
    return facts


_ROLL_UP = """
INSERT INTO metrics_responderday
    (measure, site_id, day, next_day, risk, dose, followups, responders)
SELECT measure, site_id, day, next_day, risk, dose, count(*), count(*) FILTER (WHERE responder)
FROM metrics_responderfact {where}
GROUP BY measure, site_id, day, next_day, risk, dose
"""


def _measures():
    # definitions imports this module to read the roll-ups; the measures it defines are
    # needed only when building them, so the import waits until then (a real cycle).
    from .definitions import MEASURES

    return MEASURES


@transaction.atomic
def rebuild() -> RollupState:
    """Every fact and daily row from scratch (first run, or after a migration)."""
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        # The queue first: every row committed before this statement is read by the ones
        # below (read committed), so nothing is dropped from the queue unseen.
        cur.execute("DELETE FROM metrics_changedpatient")
        cur.execute("TRUNCATE metrics_responderfact, metrics_responderday, "
                    "metrics_activityspan, metrics_activityday, "
                    "metrics_referralstatefact, metrics_referralstateday")
        for measure in _measures():
            _insert_facts(measure, None)
        cur.execute(_ROLL_UP.format(where=""))
        _insert_spans(None)
        cur.execute(_ACTIVITY_ROLL_UP.format(where=""))
        _insert_referral_states(None)
        cur.execute(_REFERRAL_ROLL_UP.format(where=""))
        cur.execute("ANALYZE metrics_responderday")
        cur.execute("ANALYZE metrics_referralstateday")
        cur.execute("ANALYZE metrics_activityday")
    took = time.perf_counter() - started
    current, _ = RollupState.objects.update_or_create(
        name=NAME, defaults={"refreshed_at": timezone.now(),
                             "full_build_seconds": round(took, 2)})
    _vacuum_queue()
    return current


def _vacuum_queue() -> None:
    """After draining a big queue (a bulk load): its dead rows would make every "anything
    queued?" probe scan them until autovacuum came by. Outside a transaction only."""
    if not connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) metrics_changedpatient")


def discard_queue_if_unbuilt() -> None:
    """For bulk loaders: before the first build the queue says nothing the build will not
    read anyway, so it is emptied at once instead of drained (no dead rows left behind)."""
    if enabled() and _state_for_update() is None:
        with connection.cursor() as cur:
            cur.execute("TRUNCATE metrics_changedpatient")


def refresh(wait: bool = True) -> RollupState | None:
    """Bring the roll-ups up to date: a full build the first time, then only the patients
    queued as changed (their facts replaced, and the days those facts were or are on
    re-counted). One refresh at a time; with `wait=False`, returns None at once when another
    is running (the reader then reads live)."""
    if not enabled():
        raise RuntimeError("Roll-ups need PostgreSQL.")
    current = _state_for_update()
    if current is None:
        return rebuild()
    with transaction.atomic(), connection.cursor() as cur:
        if wait:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        else:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK])
            if not cur.fetchone()[0]:
                return None
        current = _state_for_update()
        # Claimed first, so the statements below read everything those rows queued.
        cur.execute("DELETE FROM metrics_changedpatient RETURNING patient_id")
        patients = sorted({row[0] for row in cur.fetchall()})
        if not patients:
            return current
        cur.execute("DELETE FROM metrics_responderfact WHERE patient_id = ANY(%s) "
                    "RETURNING measure, day", [patients])
        touched = set(cur.fetchall())
        for measure in _measures():
            _insert_facts(measure, patients)
        cur.execute("SELECT DISTINCT measure, day FROM metrics_responderfact "
                    "WHERE patient_id = ANY(%s)", [patients])
        touched |= set(cur.fetchall())
        for key in {measure for measure, _ in touched}:
            days = sorted(day for m, day in touched if m == key)
            cur.execute("DELETE FROM metrics_responderday WHERE measure = %s "
                        "AND day = ANY(%s)", [key, days])
            cur.execute(_ROLL_UP.format(where="WHERE measure = %s AND day = ANY(%s)"),
                        [key, days])
        # The patients' activity spans, by span start day; their referrals' state
        # stretches, by day received.
        _replace(cur, patients, "metrics_activityspan", "metrics_activityday", "start",
                 _insert_spans, _ACTIVITY_ROLL_UP)
        _replace(cur, patients, "metrics_referralstatefact", "metrics_referralstateday",
                 "referred_day", _insert_referral_states, _REFERRAL_ROLL_UP)
        current.refreshed_at = timezone.now()
        current.save(update_fields=["refreshed_at"])
    if len(patients) > BIG_QUEUE:
        _vacuum_queue()
    return current


BIG_QUEUE = 10_000  # patients drained at once after which the queue is vacuumed


def _replace(cur, patients, facts: str, days: str, column: str, insert, roll_up: str) -> None:
    """The patients' rows of `facts` rebuilt (`insert`), and the rows of `days` re-counted
    for every `column` value those facts were or now are on."""
    cur.execute(f"DELETE FROM {facts} WHERE patient_id = ANY(%s) "  # nosec B608 - constant table names
                f"RETURNING {column}", [patients])
    keys = {row[0] for row in cur.fetchall()}
    insert(patients)
    cur.execute(f"SELECT DISTINCT {column} FROM {facts} WHERE patient_id = ANY(%s)",  # nosec B608 - as above
                [patients])
    keys |= {row[0] for row in cur.fetchall()}
    if keys:
        cur.execute(f"DELETE FROM {days} WHERE {column} = ANY(%s)", [sorted(keys)])  # nosec B608 - as above
        cur.execute(roll_up.format(where=f"WHERE {column} = ANY(%s)"), [sorted(keys)])


def refresh_if_built() -> None:
    """Before a read on the primary: catch up with recent changes (a few patients: cheap),
    but leave the first full build to the worker, and never wait for a refresh already
    running (the read is then live)."""
    if enabled() and _state_for_update() is not None:
        refresh(wait=False)


def responder_groups(scope, measure) -> list[dict]:
    """{risk, dose, n, r} per baseline risk group and attendance dose, for the scope's period
    (and site): the follow-ups that are their patient's latest in the period."""
    site = "AND site_id = %(site)s" if scope.site is not None else ""
    sql = f"""
    SELECT risk, dose, sum(followups), sum(responders) FROM metrics_responderday
    WHERE measure = %(measure)s AND day BETWEEN %(start)s AND %(end)s
      AND (next_day IS NULL OR next_day > %(end)s) {site}
    GROUP BY risk, dose
    """  # nosec B608 - a constant fragment; values are parameters
    with _reader().cursor() as cur:
        cur.execute(sql, {"measure": measure.key, "start": scope.start, "end": scope.end,
                          "site": getattr(scope.site, "pk", None)})
        return [{"risk": risk, "dose": dose, "n": int(n), "r": int(r)}
                for risk, dose, n, r in cur.fetchall()]


__all__ = ["ActivityDay", "ActivitySpan", "ReferralStateDay", "ReferralStateFact",
           "ResponderDay", "ResponderFact", "enabled", "is_current", "rebuild", "refresh",
           "refresh_if_built", "responder_groups", "state"]
