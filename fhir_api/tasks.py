"""Worker tasks of the FHIR app: run an export job (bulk NDJSON, cohort CSV, letters) and
delete expired export files (beat, hourly). Tasks take ids; ``bulk`` claims the row."""

from celery import shared_task

from . import bulk


@shared_task(name="fhir.export_run", ignore_result=True)
def export_run_task(job_id: str) -> str:
    return bulk.export_run(job_id)


@shared_task(name="fhir.expire_exports", ignore_result=True)
def expire_exports() -> int:
    return bulk.exports_expire()
