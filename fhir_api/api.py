"""JSON API of the systems around the program (SPEC §10, §11), under ``/api/``:

- ``GET /api/patients/{id}/letters/{kind}/``: the intake or discharge summary as PDF;
- ``POST /api/letters/``: a batch of letters rendered by the worker (202 + status URL
  ``/api/letters/{id}/``);
- ``POST /api/exports/cohort/``: the de-identified cohort CSV for admins (202 + status URL
  ``/api/exports/cohort/{id}/``);
- ``GET · DELETE`` on a status URL: the job's status (202 while running, 200 with file links
  when done) or cancel it; ``GET <status URL>files/{name}/``: one file. A job is its
  requester's: anyone else gets 404.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import roles
from ipm.api import ErrorSerializer
from ipm.audit import audit_record
from ipm.parsers import JSONParser
from patients.models import Patient

from . import bulk, exports, letters
from .models import ExportJob


class JSONErrorsNegotiation(BaseContentNegotiation):
    """The PDF and file answers bypass the renderers; errors are always the API's JSON,
    whatever the client's ``Accept`` (a PDF viewer sends ``application/pdf``)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class LetterApi(APIView):
    permission_classes = [roles.HasRole]
    permission = "patient.view"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="patient_letter",
        summary="The patient's intake or discharge summary letter as PDF",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int, kind: str):
        if kind not in letters.KINDS:
            raise Http404
        patient = (Patient.objects.visible_to(request.user)
                   .select_related("program", "site", "clinician").filter(pk=pk).first())
        if patient is None:
            raise Http404
        pdf = letters.render_pdf(patient, kind)
        audit_record(request=request, actor=request.user, action="read", obj=patient,
                     detail={"letter": kind})
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{letters.filename(patient, kind)}"')
        return response


class LettersBatchInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=letters.KINDS)
    patients = serializers.ListField(child=serializers.IntegerField(min_value=1),
                                     min_length=1, max_length=5000)


class ExportJobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    status_url = serializers.CharField()
    files = serializers.ListField(child=serializers.DictField())
    expires_at = serializers.DateTimeField(allow_null=True)


STATUS_PATHS = {ExportJob.Kind.COHORT: "/api/exports/cohort/{}/",
                ExportJob.Kind.LETTERS: "/api/letters/{}/"}


def job_body(request, job: ExportJob) -> dict:
    status_url = request.build_absolute_uri(STATUS_PATHS[job.kind].format(job.pk))
    files = [{"name": f["name"], "type": f["type"], "count": f["count"],
              "url": f"{status_url}files/{f['name']}/"}
             for f in job.files or []] if job.status == ExportJob.Status.DONE else []
    return {"id": str(job.pk), "kind": job.kind, "status": job.status,
            "progress": job.progress, "status_url": status_url, "files": files,
            "expires_at": job.expires_at}


def accepted(request, job) -> Response:
    body = job_body(request, job)
    return Response(body, status=status.HTTP_202_ACCEPTED,
                    headers={"Location": body["status_url"]})


class LettersBatchApi(APIView):
    permission_classes = [roles.HasRole]
    permission = "patient.export"
    # JSON only: a long patient list as form fields trips Django's field limit (an HTML 400).
    parser_classes = [JSONParser]

    @extend_schema(request=LettersBatchInputSerializer,
                   responses={202: ExportJobOutputSerializer, 404: ErrorSerializer},
                   summary="Render letters for many patients in the worker")
    def post(self, request):
        ser = LettersBatchInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        job = exports.letters_request(user=request.user, kind=ser.validated_data["kind"],
                                      patient_ids=ser.validated_data["patients"])
        return accepted(request, job)


class CohortExportApi(APIView):
    permission_classes = [roles.HasRole]
    permission = "metrics.export_cohort"
    schema_conflicts = False

    @extend_schema(request=None, responses={202: ExportJobOutputSerializer},
                   summary="De-identified cohort CSV (no names or MRNs, dates shifted per "
                           "patient, ages over 89 as 90+), written by the worker")
    def post(self, request):
        job = exports.export_request(user=request.user, kind=ExportJob.Kind.COHORT,
                                     params={})
        return accepted(request, job)


def own_job(request, pk, kind) -> ExportJob:
    job = ExportJob.objects.filter(pk=pk, requested_by=request.user, kind=kind).first()
    if job is None:
        raise Http404
    return job


class ExportJobApi(APIView):
    """A job's status (``kind``: the job kind this URL serves)."""

    permission_classes = [roles.HasRole]
    permission = "metrics.export_cohort"
    kind = ExportJob.Kind.COHORT

    @extend_schema(responses={200: ExportJobOutputSerializer, 202: ExportJobOutputSerializer},
                   summary="An export's status: 202 while the worker runs, 200 when done")
    def get(self, request, pk):
        job = own_job(request, pk, self.kind)
        code = (status.HTTP_202_ACCEPTED if job.status in (ExportJob.Status.QUEUED,
                                                           ExportJob.Status.RUNNING)
                else status.HTTP_200_OK)
        return Response(job_body(request, job), status=code)

    @extend_schema(responses={200: ExportJobOutputSerializer}, summary="Cancel an export")
    def delete(self, request, pk):
        job = exports.export_cancel(job=own_job(request, pk, self.kind), user=request.user)
        return Response(job_body(request, job))


class ExportFileApi(APIView):
    permission_classes = [roles.HasRole]
    permission = "metrics.export_cohort"
    kind = ExportJob.Kind.COHORT
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
                              (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="One file of a finished export")
    def get(self, request, pk, name):
        job = own_job(request, pk, self.kind)
        path = bulk.file_path(job, name) if job.status == ExportJob.Status.DONE else None
        if path is None or not path.exists():
            raise Http404
        audit_record(request=request, actor=request.user, action="export.downloaded", obj=job,
                     detail={"file": name})
        kind = "text/csv" if name.endswith(".csv") else "application/pdf"
        return FileResponse(path.open("rb"), content_type=kind, as_attachment=True,
                            filename=name)


class LettersJobApi(ExportJobApi):
    permission = "patient.export"
    kind = ExportJob.Kind.LETTERS


class LettersFileApi(ExportFileApi):
    permission = "patient.export"
    kind = ExportJob.Kind.LETTERS
