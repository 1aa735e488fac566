"""Export jobs (SPEC §10), written by the worker: the FHIR Bulk Data export (NDJSON per
resource type, for a clinician's sites' patients), the de-identified cohort CSV (admins),
and batches of letters (PDF).

Every job is requested through ``exports.export_request`` (audited, queued on commit),
claimed by ``export_run`` with a conditional UPDATE (a redelivered task finds it taken), checks for
cancellation between chunks, and ends with its files listed on the row and an expiry;
``exports_expire`` (beat) deletes the files of expired, cancelled and failed jobs.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ipm.audit import audit_record
from outcomes import instruments
from outcomes.models import QuestionnaireResponse
from patients.models import Patient
from patients.scoping import visible_now
from referrals.models import Referral

from . import compartment, deid, letters, resources
from .models import ExportJob

log = logging.getLogger(__name__)

CHUNK = 500  # patients per query batch: bounded memory whatever the program's size
AUDIT_IDS_MAX = 5000  # audit rows name the patients exported up to this many, else count them
BULK_TYPES = compartment.TYPES
Status = ExportJob.Status


def export_dir(job) -> Path:
    return Path(settings.IPM_EXPORT_DIR) / str(job.pk)


def file_path(job, name: str) -> Path | None:
    """The path of one of the job's files (``None`` if ``name`` is not one of them)."""
    if name not in {f["name"] for f in job.files or []}:
        return None
    return export_dir(job) / name


def exports_expire(*, now: datetime | None = None) -> int:
    """Delete the files of jobs past their expiry (and of cancelled or failed ones)."""
    now = now or timezone.now()
    done = 0
    due = ExportJob.objects.filter(status=Status.DONE, expires_at__lte=now)
    for job in list(due[:500]):
        shutil.rmtree(export_dir(job), ignore_errors=True)
        if ExportJob.objects.filter(pk=job.pk, status=Status.DONE).update(
                status=Status.EXPIRED, files=[]):
            audit_record(action="export.expired", obj=job)
            done += 1
    for job in ExportJob.objects.filter(status__in=(Status.CANCELLED, Status.FAILED))[:500]:
        shutil.rmtree(export_dir(job), ignore_errors=True)
    return done


# --- the worker --------------------------------------------------------------------------

class Cancelled(Exception):
    pass


def _still_wanted(job) -> None:
    if ExportJob.objects.filter(pk=job.pk, status=Status.CANCELLED).exists():
        raise Cancelled


def _progress(job, done: int, total: int) -> None:
    percent = min(99, int(done * 100 / total)) if total else 99
    ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(progress=percent)


def export_run(job_id: str) -> str:
    """Claim the job (queued → running), write its files, and finish it. Returns the
    final status."""
    claimed = ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return "not-queued"
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    directory = export_dir(job)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        runner = {ExportJob.Kind.BULK: _run_bulk, ExportJob.Kind.COHORT: _run_cohort,
                  ExportJob.Kind.LETTERS: _run_letters}[job.kind]
        files, patient_ids = runner(job, directory)
    except Cancelled:
        shutil.rmtree(directory, ignore_errors=True)
        return Status.CANCELLED
    except Exception as exc:  # noqa: BLE001 - the job fails, the worker carries on
        log.exception("export %s failed", job.pk)
        shutil.rmtree(directory, ignore_errors=True)
        ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(), error=type(exc).__name__)
        return Status.FAILED
    now = timezone.now()
    finished = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.DONE, progress=100, files=files, finished_at=now,
        expires_at=now + timedelta(hours=settings.IPM_EXPORT_TTL_HOURS))
    if not finished:  # cancelled while the last chunk was written
        shutil.rmtree(directory, ignore_errors=True)
        return Status.CANCELLED
    detail = {"kind": job.kind, "patients": len(patient_ids),
              "files": [f["name"] for f in files]}
    if len(patient_ids) <= AUDIT_IDS_MAX:
        detail["patient_ids"] = sorted(patient_ids)
    audit_record(actor=job.requested_by, action=f"export.completed:{job.kind}", obj=job,
                 detail=detail)
    return Status.DONE


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _patient_pages(job):
    """The requester's patients in pages of CHUNK, by id (keyset: each page starts after the
    last id of the one before, so no page costs more than the first and no list of every
    id is held), with their ``program`` for the Patient resource."""
    # The sites as values, not a subquery: else the planner sorts every remaining patient
    # for each page instead of reading the next CHUNK by the primary key.
    qs = (visible_now(Patient.objects.select_related("program"), job.requested_by, "")
          .order_by("pk"))
    last = 0
    while True:
        page = list(qs.filter(pk__gt=last)[:CHUNK])
        if not page:
            return
        yield page
        last = page[-1].pk


def _run_bulk(job, directory: Path):
    """One pass over the patients, a fixed number of queries per chunk whatever its size
    (``compartment.Rows``). Resources are written from their plain data; the first of each
    type in every chunk is also built as its R4B model, so a resource that breaks the FHIR
    structure still fails the job (the tests check that every resource validates and that
    the plain data writes the model's bytes)."""
    params = job.params or {}
    types = [t for t in BULK_TYPES if t in (params.get("types") or BULK_TYPES)]
    since = datetime.fromisoformat(params["since"]) if params.get("since") else None
    total = Patient.objects.visible_to(job.requested_by).count()
    handles = {t: (directory / f"{t}.ndjson").open("w", encoding="utf-8") for t in types}
    counts = dict.fromkeys(types, 0)
    shown: set[int] = set()
    sessions: set[int] = set()  # a group session has patients in several chunks: once
    done = 0
    try:
        for page in _patient_pages(job):
            _still_wanted(job)
            rows = compartment.Rows([p.pk for p in page], patients=page, sessions_done=sessions)
            checked: set[str] = set()
            for resource_type, patient_id, data in compartment.records(rows, types=types):
                if since is not None and not _changed_since(data, since):
                    continue
                if resource_type not in checked:
                    resources.validate(data)
                    checked.add(resource_type)
                handles[resource_type].write(resources.dumps(data) + "\n")
                counts[resource_type] += 1
                shown.add(patient_id)
            done += len(page)
            _progress(job, done, total)
        if params.get("level") == "system" and "Questionnaire" in (params.get("types")
                                                                    or ["Questionnaire"]):
            with (directory / "Questionnaire.ndjson").open("w", encoding="utf-8") as out:
                for instrument in instruments.all_instruments():
                    out.write(resources.questionnaire_resource(instrument.code)
                              .model_dump_json() + "\n")
            counts["Questionnaire"] = len(instruments.all_instruments())
    finally:
        for handle in handles.values():
            handle.close()
    files = []
    for resource_type, count in counts.items():
        if count:
            files.append({"type": resource_type, "name": f"{resource_type}.ndjson",
                          "count": count})
        else:
            (directory / f"{resource_type}.ndjson").unlink(missing_ok=True)
    return files, shown


def _changed_since(data: dict, since: datetime) -> bool:
    last = data.get("meta", {}).get("lastUpdated")
    return last is None or datetime.fromisoformat(last) >= since


# --- the de-identified cohort ------------------------------------------------------------

TRENDED = tuple(i for i in instruments.all_instruments() if i.trend)


def cohort_header() -> list[str]:
    head = ["subject", "age_at_intake", "sex", "risk_group", "pathway", "step", "intake_date",
            "baseline_mme", "current_mme", "responder", "not_improving", "referrals",
            "referrals_discharged"]
    for i in TRENDED:
        head += [f"{i.code}_baseline_date", f"{i.code}_baseline", f"{i.code}_latest_date",
                 f"{i.code}_latest", f"{i.code}_change", f"{i.code}_mcid"]
    return head


def cohort_rows(ids: list[int], *, secret: str):
    """One row per patient (ids in order), de-identified (``deid``)."""
    patients = Patient.objects.filter(pk__in=ids).order_by("pk")
    responses = defaultdict(list)
    for r in (QuestionnaireResponse.objects.filter(patient_id__in=ids,
                                                   instrument__in=[i.code for i in TRENDED])
              .only("patient_id", "instrument", "answered_at", "scores")
              .order_by("answered_at", "pk")):
        responses[(r.patient_id, r.instrument)].append(r)
    referrals = defaultdict(lambda: [0, 0])
    for patient_id, status in Referral.objects.filter(patient_id__in=ids).values_list(
            "patient_id", "status"):
        referrals[patient_id][0] += 1
        referrals[patient_id][1] += status == "discharged"
    for p in patients:
        days = deid.shift_days(secret, p.pk)
        on = p.intake_date or timezone.localdate(p.created_at)
        row = [deid.pseudonym(secret, p.pk), deid.age_group(p.birth_date, on), p.sex,
               p.risk_group, p.pathway, p.step, deid.shifted(p.intake_date, days),
               p.baseline_mme if p.baseline_mme is not None else "",
               p.current_mme if p.current_mme is not None else "",
               int(p.responder), int(p.not_improving), *referrals[p.pk]]
        for i in TRENDED:
            items = responses.get((p.pk, i.code), [])
            if not items:
                row += [""] * 6
                continue
            key = i.trend[0].key
            base, latest = items[0], items[-1]
            base_value = instruments.headline(i.code, base.scores)[key]
            if latest.pk == base.pk:
                row += [deid.shifted(timezone.localdate(base.answered_at), days), base_value,
                        "", "", "", ""]
                continue
            change = instruments.compare(i.code, base.scores, latest.scores)[key]
            row += [deid.shifted(timezone.localdate(base.answered_at), days), base_value,
                    deid.shifted(timezone.localdate(latest.answered_at), days),
                    change["value"], change["change"], change["classification"] or ""]
        yield row


def _run_cohort(job, directory: Path):
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    count = 0
    with (directory / "cohort.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(cohort_header())
        for done, chunk in enumerate(_chunks(ids)):
            _still_wanted(job)
            for row in cohort_rows(chunk, secret=settings.IPM_DEID_SECRET):
                writer.writerow(row)
                count += 1
            _progress(job, (done + 1) * CHUNK, len(ids))
    # De-identified: no patient is named in the audit row, only how many.
    return [{"type": "text/csv", "name": "cohort.csv", "count": count}], set()


# --- letters ---------------------------------------------------------------------------

def _run_letters(job, directory: Path):
    kind = job.params["kind"]
    ids = [i for i in job.params["patients"]]
    files = []
    for n, patient in enumerate(Patient.objects.visible_to(job.requested_by)
                                .select_related("program", "site", "clinician")
                                .filter(pk__in=ids).order_by("pk")):
        if n % 10 == 0:
            _still_wanted(job)
            _progress(job, n, len(ids))
        name = letters.filename(patient, kind)
        (directory / name).write_bytes(letters.render_pdf(patient, kind))
        files.append({"type": "application/pdf", "name": name, "count": 1,
                      "patient": patient.pk})
    return files, {f["patient"] for f in files}


def manifest(job, *, base_url: str, file_url) -> dict:
    """The Bulk Data completion manifest."""
    return {
        "transactionTime": resources.instant(job.created_at),
        "request": (job.params or {}).get("request", ""),
        "requiresAccessToken": True,
        "output": [{"type": f["type"], "url": file_url(f["name"]), "count": f["count"]}
                   for f in job.files],
        "error": [],
    }


def json_safe(value):
    return json.loads(json.dumps(value, default=str))
