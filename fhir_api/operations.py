"""FHIR operations and whole-system interactions: ``POST /fhir/`` (transaction Bundles of
referrals in), ``Patient/{id}/$everything``, and the Bulk Data export (``$export``,
``Patient/$export``, the status URL and the file URLs), per the Bulk Data Access IG
(STU2): kick-off with ``Prefer: respond-async`` answers 202 with ``Content-Location``; the
status URL answers 202 with ``X-Progress`` while the worker runs, 200 with the manifest
when done, and ``DELETE`` cancels.
"""

from __future__ import annotations

from datetime import datetime

from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.http import http_date
from fhir.resources.R4B.bundle import Bundle
from rest_framework import status
from rest_framework.response import Response

from ipm.audit import audit_record
from ipm.errors import InvalidInput, NotFound
from patients.models import Patient

from . import bulk, compartment, exports, ingest, resources, search, selectors
from .models import ExportJob
from .views import FHIRView, etag_of

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = (NDJSON, "application/ndjson", "ndjson")


class TransactionView(FHIRView):
    """``POST /fhir/``: a transaction Bundle (Patients + ServiceRequests) from a service
    account; answers a transaction-response Bundle (one entry per entry, in order)."""

    http_method_names = ["post"]
    permission = "referral.receive"

    def post(self, request, *args, **kwargs):
        bundle = ingest.parse_body(request.body, request.content_type, expected=("Bundle",))
        results = ingest.transaction_receive(bundle=bundle, actor=request.user)
        entries = []
        for result in results:
            if result.resource_type == "Patient":
                location = f"Patient/{result.obj.pk}"
                etag = None
            else:
                referral = selectors.referrals().get(pk=result.obj.pk)
                shown = resources.service_request_resource(referral)
                location, etag = f"ServiceRequest/{referral.pk}", etag_of(shown)
            entries.append({"fullUrl": f"{self.base_url()}{location}", "response": {
                "status": "201 Created" if result.created else "200 OK",
                "location": location, **({"etag": etag} if etag else {})}})
        return Response(Bundle.model_validate({
            "resourceType": "Bundle", "type": "transaction-response", "entry": entries}))


class EverythingView(FHIRView):
    """``GET /fhir/Patient/{id}/$everything``: the patient and every resource that
    references them (searchset Bundle, one page)."""

    def get(self, request, *args, **kwargs):
        search.check_params(request.query_params, ())
        ident = kwargs["id"]
        patient = (Patient.objects.visible_to(request.user).filter(pk=int(ident)).first()
                   if ident.isdigit() and len(ident) <= 18 else None)
        if patient is None:
            raise Http404
        found = compartment.resources_for([patient.pk])
        audit_record(request=request, actor=request.user, action="read", obj=patient,
                     detail={"fhir": f"Patient/{patient.pk}/$everything",
                             "patient_ids": [patient.pk]})
        return Response(resources.searchset(
            entries=[(self.full_url(r), r) for _, r in found], total=len(found),
            links=[("self", request.build_absolute_uri())]))


# --- Bulk Data export --------------------------------------------------------------------

def _export_job(request, job_id) -> ExportJob:
    """The requester's own job (anyone else's is 404, as if it did not exist)."""
    job = ExportJob.objects.filter(pk=job_id, kind=ExportJob.Kind.BULK,
                                   requested_by=request.user).first()
    if job is None:
        raise Http404
    return job


class ExportKickoffView(FHIRView):
    """Kick-off (system level ``/$export`` or ``/Patient/$export``): clinicians, for the
    patients of their sites."""

    permission = "patient.export"
    PARAMS = ("_outputFormat", "_type", "_since", "_format")

    def get(self, request, *args, level="system", **kwargs):
        query = request.query_params
        for name in query:
            if name not in self.PARAMS:
                raise search.SearchError(f"'{name}' is not supported by $export; supported: "
                                         f"{', '.join(self.PARAMS[:3])}.", param=name,
                                         issue_code="not-supported")
        if "respond-async" not in request.META.get("HTTP_PREFER", ""):
            raise InvalidInput("Bulk export is asynchronous: send 'Prefer: respond-async'.",
                               {"Prefer": ["respond-async is required."]})
        fmt = search.single(query, "_outputFormat")
        if fmt is not None and fmt not in OUTPUT_FORMATS:
            raise search.SearchError(f"_outputFormat '{fmt[:40]}' is not supported; use "
                                     f"{NDJSON}.", param="_outputFormat",
                                     issue_code="not-supported")
        allowed = bulk.BULK_TYPES + (("Questionnaire",) if level == "system" else ())
        types = None
        raw_types = search.single(query, "_type")
        if raw_types is not None:
            types = [t.strip() for t in raw_types.split(",") if t.strip()]
            unknown = [t for t in types if t not in allowed]
            if unknown or not types:
                raise search.SearchError(f"_type: {', '.join(unknown) or '(empty)'} not "
                                         f"exported; supported: {', '.join(allowed)}.",
                                         param="_type", issue_code="not-supported")
        since = search.single(query, "_since")
        if since is not None:
            try:
                parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise search.SearchError("_since must be an instant with a time zone, e.g. "
                                         "2024-05-01T00:00:00Z.", param="_since")
            since = parsed.isoformat()
        job = exports.export_request(user=request.user, kind=ExportJob.Kind.BULK, params={
            "level": level, "types": types, "since": since,
            "request": request.build_absolute_uri()})
        url = request.build_absolute_uri(reverse("fhir:export-status", args=[job.pk]))
        return Response(status=status.HTTP_202_ACCEPTED, headers={"Content-Location": url})


class ExportStatusView(FHIRView):
    permission = "patient.export"
    http_method_names = ["get", "head", "delete"]

    def get(self, request, job, *args, **kwargs):
        job = _export_job(request, job)
        if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return Response(status=status.HTTP_202_ACCEPTED,
                            headers={"X-Progress": f"{job.status}: {job.progress}%",
                                     "Retry-After": "2"})
        if job.status == ExportJob.Status.FAILED:
            return Response(resources.operation_outcome(
                "The export failed; ask for a new one.", code="exception"),
                status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        if job.status != ExportJob.Status.DONE:
            raise NotFound(f"This export is {job.status}.")

        def file_url(name):
            return request.build_absolute_uri(reverse("fhir:export-file", args=[job.pk, name]))

        response = Response(bulk.manifest(job, base_url=self.base_url(), file_url=file_url),
                            content_type="application/json")  # the IG's manifest type
        response["Expires"] = http_date(job.expires_at.timestamp())
        return response

    def delete(self, request, job, *args, **kwargs):
        exports.export_cancel(job=_export_job(request, job), user=request.user)
        return Response(status=status.HTTP_202_ACCEPTED)


class ExportFileView(FHIRView):
    permission = "patient.export"

    def get(self, request, job, name, *args, **kwargs):
        job = _export_job(request, job)
        path = bulk.file_path(job, name) if job.status == ExportJob.Status.DONE else None
        if path is None or not path.exists():
            raise Http404
        audit_record(request=request, actor=request.user, action="export.downloaded",
                     obj=job, detail={"file": name})
        return FileResponse(path.open("rb"), content_type=NDJSON)

