"""Bulk generation of a realistic program at scale, for benchmarks (docs/product.md §5).

PostgreSQL: rows are streamed with COPY (psycopg 3) with explicit ids, and sequences are
moved past them at the end. SQLite: the same rows through bulk_create, for small N.
Questionnaire answers are drawn from a pool of pre-scored answer sets, so every stored
score is what the instrument engine computes for its answers.
"""

import json
import random
import sys
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from ipm.progress import Progress
from metrics import rollups
from outcomes import instruments, synthetic
from patients.models import Program
from referrals.models import Service

RISK_WEIGHTS = [("low", 0.45), ("medium", 0.35), ("high", 0.20)]
PATHWAY = {"low": "self_management", "medium": "physiotherapy",
           "high": "psychologically_informed_physio"}
STATES = [("new", 0.15), ("triaged", 0.15), ("scheduled", 0.15), ("in_treatment", 0.2),
          ("discharged", 0.25), ("declined", 0.05), ("cancelled", 0.05)]
ORDER = ["new", "triaged", "scheduled", "in_treatment", "discharged"]
GIVEN = ["Maya", "Tom", "Aisha", "Liam", "Sofia", "Kwame", "Hannah", "Yusuf", "Grace", "Ben",
         "Chloe", "Ravi", "Emma", "Jonas", "Priya", "Daniel", "Olga", "Mateo", "Zara", "Finn"]
FAMILY = ["Patel", "Fletcher", "Khan", "OBrien", "Rossi", "Mensah", "Schmidt", "Demir",
          "Okafor", "Carter", "Martin", "Sharma", "Lewis", "Berg", "Iyer", "Cohen", "Novak",
          "Silva", "Ahmed", "Murphy"]


def _pool(code: str, rng: random.Random, n: int = 300, bias: float = 0.5):
    """n valid answer sets with their scores, leaning worse with `bias` in [0, 1]."""
    inst = instruments.get(code)
    out = []
    for _ in range(n):
        answers = {}
        for item in inst.items:
            if not item.required:
                continue
            values = sorted(o.value for o in item.options)
            k = min(len(values) - 1, max(0, int(rng.gauss(bias, 0.25) * len(values))))
            answers[item.key] = values[k]
        out.append(_scored(code, answers))
    return out


# Latent severity levels (0 best, 1 worst) the questionnaire pools are drawn at: a patient
# answers every instrument from the level nearest their own severity (outcomes.synthetic).
LEVELS = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85)


def _level(severity: float) -> float:
    return min(LEVELS, key=lambda level: abs(level - severity))


def _severity_pools(code: str, rng: random.Random, n: int = 60) -> dict:
    """Per severity level, n pre-scored answer sets drawn from that one severity."""
    pools = {}
    for level in LEVELS:
        rows = []
        for _ in range(n):
            answers = synthetic.answers_at(code, level, rng)
            if code == "phq9":
                answers["q9"] = 0  # no safety alert rows: the bench data has no alert workflow
            rows.append(_scored(code, answers))
        pools[level] = rows
    return pools


def _scored(code: str, answers: dict) -> tuple:
    """(answers JSON, scores JSON, primary score) as the instrument engine scores them."""
    scored = instruments.score_response(code, answers)
    primary = instruments.headline(code, scored.scores)
    return (json.dumps(scored.answers_clean), json.dumps(scored.scores),
            next(iter(primary.values())) if primary else None)


def _next_id(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # nosec B608 - table names are constants in this module
        return cur.fetchone()[0]


def _copy(table: str, columns: list[str], rows, progress: Progress | None = None,
          chunk: int = 20000):
    """COPY rows into table on PostgreSQL; bulk INSERT elsewhere."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            raw = cur.cursor if hasattr(cur, "cursor") else cur
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                n = 0
                for row in rows:
                    copy.write_row(row)
                    n += 1
                    if progress and n % chunk == 0:
                        progress.add(chunk)
                if progress:
                    progress.add(n % chunk)
        return
    batch = []
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # nosec B608 - constant names
    with connection.cursor() as cur:
        for row in rows:
            batch.append(row)
            if len(batch) >= 2000:
                cur.executemany(sql, batch)
                if progress:
                    progress.add(len(batch))
                batch = []
        if batch:
            cur.executemany(sql, batch)
            if progress:
                progress.add(len(batch))


def _reset_sequences(tables: list[str]):
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for t in tables:
            sql = (f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                   f"COALESCE((SELECT MAX(id) FROM {t}), 1))")  # nosec B608 - constant names
            cur.execute(sql)


def generate(*, patients: int, seed: int = 7, out=sys.stdout) -> dict:
    rng = random.Random(seed)  # nosec B311 - benchmark data, not security
    program = Program.default()
    site_id = program.sites.order_by("pk").values_list("pk", flat=True)[0]
    clinician = User.objects.filter(groups__name="clinician").first() or User.objects.first()
    clin_id = clinician.pk if clinician else None
    services = list(Service.objects.values_list("id", "code", "sla_triage_days", "is_group_based"))
    group_services = [s for s in services if s[3]] or services
    now = timezone.now()
    pools = {
        "startback": {r: _pool("startback", rng, bias=b) for r, b in
                      (("low", 0.2), ("medium", 0.5), ("high", 0.85))},
        # One latent severity per patient drives PEG, PHQ-9 and GAD-7 (and the follow-up).
        **{code: _severity_pools(code, rng) for code in ("peg", "phq9", "gad7")},
        "nps": _pool("nps", rng, bias=0.75),
    }
    # STarT Back pools must match their risk group label.
    for risk in ("low", "medium", "high"):
        pools["startback"][risk] = [p for p in pools["startback"][risk]
                                    if json.loads(p[1])["risk_group"] == risk] or pools["startback"][risk]
    counts = {}
    with transaction.atomic():
        first_patient = _next_id("patients_patient")
        patient_rows, intake_rows = [], []
        info = []  # (patient id, intake datetime, risk, latent severity)
        for i in range(patients):
            pid = first_patient + i
            risk = rng.choices([r for r, _ in RISK_WEIGHTS], [w for _, w in RISK_WEIGHTS])[0]
            intake_at = now - timedelta(days=rng.randint(7, 400), minutes=rng.randint(0, 600))
            info.append((pid, intake_at, risk, synthetic.severity_for(risk, rng, spread=0.12)))
            channel = rng.choice(["email", "email", "sms", "none"])
            mme = rng.choice([None, 0, 0, 0, 10, 20, 40, 60, 100])
            current = None if mme is None else max(0, mme - rng.choice([0, 0, 10]))
            patient_rows.append((
                pid, program.pk, site_id, f"S{pid:08d}", rng.choice(GIVEN), rng.choice(FAMILY),
                date(1940 + rng.randint(0, 60), rng.randint(1, 12), rng.randint(1, 28)),
                rng.choice(["female", "male"]), f"p{pid}@example.org",
                f"+4477{pid % 100000000:08d}", channel, rng.random() < 0.9, None,
                program.time_zone, clin_id, intake_at.date(), risk, PATHWAY[risk], False,
                rng.random() < 0.15, rng.random() < 0.3, mme, current, intake_at, intake_at, 1))
        p = Progress("patients", patients, out)
        _copy("patients_patient", [
            "id", "program_id", "site_id", "mrn", "given_name", "family_name", "birth_date", "sex", "email",
            "phone", "preferred_channel", "consent_to_contact", "consent_revoked_at", "timezone",
            "clinician_id", "intake_date", "risk_group", "pathway", "red_flag", "not_improving",
            "responder", "baseline_mme", "current_mme", "created_at", "updated_at", "step"],
            patient_rows, p)
        p.close()
        counts["patients"] = patients
        del patient_rows

        first_intake = _next_id("patients_intake")
        first_resp = _next_id("outcomes_questionnaireresponse")
        rid = first_resp
        flags = json.dumps({k: False for k in ("cauda_equina", "cancer_history",
                                                "fever_or_infection", "significant_trauma",
                                                "unexplained_weight_loss",
                                                "progressive_neuro_deficit")})

        def responses():
            nonlocal rid
            for pid, at, risk, severity in info:
                sb = rng.choice(pools["startback"][risk])
                yield (rid, pid, "startback", "9-item", sb[0], sb[1], sb[2], "intake", at, clin_id)
                rid += 1
                for code in ("peg", "phq9", "gad7"):
                    a = rng.choice(pools[code][_level(severity)])
                    yield (rid, pid, code, "v", a[0], a[1], a[2], "intake", at, clin_id)
                    rid += 1
                follow = at + timedelta(weeks=rng.choice([6, 12, 26]))
                if follow < now:
                    better = 0.6 if rng.random() < 0.5 else 1.0  # half improve
                    a = rng.choice(pools["peg"][_level(severity * better)])
                    yield (rid, pid, "peg", "v", a[0], a[1], a[2], "follow_up", follow, None)
                    rid += 1

        for pid, at, risk, _severity in info:
            sb_total = {"low": 2, "medium": 5, "high": 8}[risk]
            intake_rows.append((first_intake + len(intake_rows), pid, flags, sb_total,
                                {"low": 1, "medium": 2, "high": 4}[risk], risk, PATHWAY[risk],
                                "[]", None, clin_id, at))
        p = Progress("intakes", patients, out)
        _copy("patients_intake", ["id", "patient_id", "red_flags", "startback_total",
                                  "startback_psychosocial", "risk_group", "suggested_pathway",
                                  "suggested_referrals", "mme", "created_by_id", "created_at"],
              intake_rows, p)
        p.close()
        del intake_rows
        p = Progress("responses", patients * 5, out)
        _copy("outcomes_questionnaireresponse",
              ["id", "patient_id", "instrument", "instrument_version", "answers", "scores",
               "primary_score", "context", "answered_at", "entered_by_id"], responses(), p)
        p.close()
        counts["responses"] = rid - first_resp

        # Referrals: ~1.5 per patient across services and states, each with its events.
        first_ref = _next_id("referrals_referral")
        first_ev = _next_id("referrals_referralevent")
        ref_rows, ev_rows = [], []
        for pid, at, _risk, _severity in info:
            for _ in range(1 if rng.random() < 0.5 else 2):
                sid, code, _sla, _grp = rng.choice(services)
                status = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
                referred = at + timedelta(hours=rng.randint(1, 72))
                if referred > now:
                    referred = now - timedelta(hours=1)
                urgent = rng.random() < 0.1
                path = (ORDER[:ORDER.index(status) + 1] if status in ORDER else
                        ["new", status] if status == "declined" else
                        ["new", "triaged", status])
                stamps, t = {}, referred
                for st in path[1:]:
                    t = t + timedelta(days=rng.randint(1, 20))
                    stamps[st] = min(t, now)
                ref_id = first_ref + len(ref_rows)
                closed = stamps.get(status) if status in ("discharged", "declined", "cancelled") else None
                ref_rows.append((ref_id, pid, sid, "Referred for assessment and treatment.",
                                 "urgent" if urgent else "routine", 0 if urgent else 1, status,
                                 None, clin_id, False, referred, stamps.get("triaged"),
                                 stamps.get("scheduled"), stamps.get("in_treatment"), closed,
                                 "Not suitable" if status in ("declined", "cancelled") else "",
                                 closed or referred))
                prev = ""
                for st in path:
                    ev_rows.append((first_ev + len(ev_rows), ref_id, prev, st, "",
                                    clin_id, stamps.get(st, referred)))
                    prev = st
        p = Progress("referrals", len(ref_rows), out)
        _copy("referrals_referral", [
            "id", "patient_id", "service_id", "reason", "priority", "priority_rank", "status",
            "assignee_id", "referred_by_id", "needs_mdt", "referred_at", "triaged_at",
            "scheduled_at", "first_visit_at", "closed_at", "status_reason", "updated_at"],
            ref_rows, p)
        p.close()
        p = Progress("referral events", len(ev_rows), out)
        _copy("referrals_referralevent", ["id", "referral_id", "from_status", "to_status", "note",
                                          "actor_id", "at"], ev_rows, p)
        p.close()
        counts["referrals"] = len(ref_rows)
        del ref_rows, ev_rows

        # Group series: one per 50 patients, 8 weekly sessions, capacity 10.
        n_series = max(1, patients // 50)
        first_series = _next_id("visits_groupseries")
        first_sess = _next_id("visits_groupsession")
        first_enr = _next_id("visits_enrolment")
        first_att = _next_id("visits_attendance")
        series_rows, sess_rows, enr_rows, att_rows = [], [], [], []
        for s in range(n_series):
            ser_id = first_series + s
            start = now - timedelta(days=rng.randint(-30, 300))
            series_rows.append((ser_id, f"Pain self-management group {s + 1}",
                                rng.choice(group_services)[0], 10, clin_id, "Clinic room 2",
                                "", None, start - timedelta(days=14), site_id))
            sessions = []
            for w in range(8):
                sess_id = first_sess + len(sess_rows)
                st = start + timedelta(weeks=w)
                sess_rows.append((sess_id, ser_id, st, 90, "scheduled", clin_id))
                sessions.append((sess_id, st))
            members = rng.sample(range(patients), min(12, patients))
            for k, idx in enumerate(members):
                pid = info[idx][0]
                status = "enrolled" if k < 10 else "waitlisted"
                enr_rows.append((first_enr + len(enr_rows), ser_id, pid, status,
                                 (k - 9) if status == "waitlisted" else None,
                                 start - timedelta(days=7), None))
                if status == "enrolled":
                    for sess_id, st in sessions:
                        if st < now:
                            att_rows.append((first_att + len(att_rows), sess_id, pid,
                                             rng.choice(["present", "present", "present",
                                                         "absent", "excused"]), clin_id, st))
        for table, cols, rows in (
            ("visits_groupseries", ["id", "name", "service_id", "capacity", "lead_clinician_id",
                                    "location", "video_link", "completed_at", "created_at",
                                    "site_id"],
             series_rows),
            ("visits_groupsession", ["id", "series_id", "starts_at", "duration_minutes",
                                     "status", "lead_clinician_id"], sess_rows),
            ("visits_enrolment", ["id", "series_id", "patient_id", "status", "waitlist_seq",
                                  "enrolled_at", "withdrawn_at"], enr_rows),
            ("visits_attendance", ["id", "session_id", "patient_id", "status", "marked_by_id",
                                   "marked_at"], att_rows),
        ):
            p = Progress(table.split("_", 1)[1], len(rows), out)
            _copy(table, cols, rows, p)
            p.close()
        counts.update(series=len(series_rows), sessions=len(sess_rows),
                      enrolments=len(enr_rows), attendance=len(att_rows))

        # Pending reminders for upcoming sessions (and due ones, for the dispatch benchmark).
        first_rem = _next_id("reminders_reminder")
        rem_rows = []
        by_series: dict[int, list] = {}
        for r in sess_rows:
            by_series.setdefault(r[1], []).append(r)
        for e in enr_rows:
            if e[3] != "enrolled":
                continue
            for sess_id, _ser, st, *_ in by_series[e[1]]:
                if st > now:
                    for off, delta in (("48h", timedelta(hours=48)), ("2h", timedelta(hours=2))):
                        rem_rows.append((first_rem + len(rem_rows),
                                         f"group_session:group_session:{sess_id}:p{e[2]}:{off}",
                                         "group_session", "group_session", sess_id, e[2], None,
                                         "email", st - delta, "pending", "", 0, "", "", None,
                                         None, now, now))
        p = Progress("reminders", len(rem_rows), out)
        _copy("reminders_reminder", [
            "id", "key", "kind", "target_type", "target_id", "patient_id", "recipient_user_id",
            "channel", "scheduled_for", "status", "reason", "attempts", "last_error",
            "provider_message_id", "claimed_at", "sent_at", "created_at", "updated_at"],
            rem_rows, p)
        p.close()
        counts["reminders"] = len(rem_rows)
        _reset_sequences(["patients_patient", "patients_intake", "outcomes_questionnaireresponse",
                          "referrals_referral", "referrals_referralevent", "visits_groupseries",
                          "visits_groupsession", "visits_enrolment", "visits_attendance",
                          "reminders_reminder"])
    if connection.vendor == "postgresql":
        # Before the metrics roll-ups are first built, the patients the load queued for
        # them mean nothing the build will not read: dropped, rather than left as a
        # million-row queue to drain.
        rollups.discard_queue_if_unbuilt()
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")  # index-only scans need the visibility map
    return counts
