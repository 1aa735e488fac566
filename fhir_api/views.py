"""FHIR read and search endpoints (DRF APIViews).

Same authentication (token, session), roles and audit as the rest of the API: patient data
needs the clinician or coordinator role (admins get 403), and every read or search that
shows patient data writes an audit row ("read" for one resource, "list" for a page, with
the patient ids shown). Errors are OperationOutcome resources.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import api as ipm_api
from ipm import roles
from ipm.audit import audit_record
from ipm.errors import NotFound
from outcomes import instruments
from patients.models import Patient

from . import appointments as individual
from . import codes, compartment, ingest, letters, resources, search, selectors
from .renderers import FHIRContentNegotiation, FHIRJSONRenderer, JSONRenderer

logger = logging.getLogger(__name__)

ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
               405: "not-supported", 406: "not-supported", 409: "conflict",
               413: "too-costly", 415: "not-supported", 422: "processing", 429: "throttled"}


def fhir_exception_handler(exc, context):
    """The API's error mapping (status, headers), answered as an OperationOutcome."""
    response = ipm_api.exception_handler(exc, context)
    if response is None:
        logger.exception("FHIR request failed", exc_info=exc)
        return Response(resources.operation_outcome("Server error.", code="exception",
                                                     severity="fatal"),
                        status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    data = response.data if isinstance(response.data, dict) else {}
    message = data.get("message") or "Error."
    code = getattr(exc, "issue_code", None) or ISSUE_CODES.get(response.status_code,
                                                               "processing")
    issues = getattr(exc, "issues", None)  # several problems, each naming its element
    response.data = resources.operation_outcome(
        message, code=code, issues=issues,
        expression=[k for k in getattr(exc, "errors", {}) if "." in k] or None)
    return response


@extend_schema(exclude=True)
class FHIRView(APIView):
    """Base: FHIR JSON in and out, OperationOutcome errors, patient-data roles."""

    renderer_classes = [FHIRJSONRenderer, JSONRenderer]
    parser_classes: list = []
    content_negotiation_class = FHIRContentNegotiation
    permission_classes = [roles.HasRole]
    permission = "patient.view"
    http_method_names = ["get", "head"]

    def get_exception_handler(self):
        return fhir_exception_handler

    # --- helpers ------------------------------------------------------------------------

    def base_url(self) -> str:
        metadata = reverse("fhir:metadata")
        return self.request.build_absolute_uri(metadata[: -len("metadata")])

    def full_url(self, resource) -> str:
        return f"{self.base_url()}{resource.get_resource_type()}/{resource.id}"

    def visible_patients(self):
        """The patients of the reader's sites (``Patient.objects.visible_to``)."""
        return selectors.patients().filter(
            pk__in=Patient.objects.visible_to(self.request.user).values("pk"))

    def audit_read(self, obj, resource, patient_ids=None) -> None:
        ref = f"{resource.get_resource_type()}/{resource.id}"
        detail = {"fhir": ref}
        patient_id = None
        if patient_ids is not None:
            detail["patient_ids"] = sorted(patient_ids)
            patient_id = patient_ids[0] if len(set(patient_ids)) == 1 else None
        audit_record(request=self.request, actor=self.request.user, action="read", obj=obj,
                     patient_id=patient_id, detail=detail)

    def audit_list(self, object_type: str, resource_type: str, patient_ids) -> None:
        """One row per page that showed patient data (none for an empty page)."""
        ids = sorted(set(patient_ids))
        if not ids:
            return
        audit_record(request=self.request, actor=self.request.user, action="list",
                     object_type=object_type, patient_id=ids[0] if len(ids) == 1 else None,
                     detail={"fhir": resource_type, "patient_ids": ids})


class SearchView(FHIRView):
    """``GET /fhir/<Type>?...``: a searchset Bundle paged with ``_count``/``_offset``.

    Subclasses declare ``params`` ((name, type, documentation), ...) and implement
    ``search(query, paging) -> (total, [resource], [patient id shown])``.
    """

    resource_type = ""
    audit_object_type = ""
    params: tuple[tuple[str, str, str], ...] = ()
    # The model field ``_lastUpdated`` searches and sorts on (None: not offered), more
    # ``_sort`` keys (key → model field), and the Patient references ``_include`` follows.
    last_updated_field: str | None = None
    sort_fields: dict[str, str] = {}
    includes: tuple[str, ...] = ()
    revincludes: tuple[str, ...] = ()

    @classmethod
    def all_params(cls) -> tuple[tuple[str, str, str], ...]:
        """Every parameter, as the CapabilityStatement advertises them."""
        out = [*cls.params, ("_id", "token", "Logical id; commas separate alternatives")]
        if cls.last_updated_field:
            out.append(("_lastUpdated", "date", "When the resource last changed (eq, ne, gt, "
                                                "lt, ge, le)"))
        return tuple(out)

    @classmethod
    def sorts(cls) -> dict[str, str]:
        out = {"_id": "pk"}
        if cls.last_updated_field:
            out["_lastUpdated"] = cls.last_updated_field
        return out | cls.sort_fields

    def get(self, request, *args, **kwargs):
        query = request.query_params
        search.check_params(query, tuple(name for name, _, _ in self.all_params()),
                            sorts=tuple(self.sorts()), includes=self.includes,
                            revincludes=self.revincludes)
        paging = search.paging(query)
        if search.summary_count(query):
            paging = search.Paging(count=0, offset=paging.offset)
        total, shown, patient_ids = self.search(query, paging)
        included = self.included(query, patient_ids)
        self.audit_list(self.audit_object_type, self.resource_type,
                        [*patient_ids, *(pid for pid, _ in included)])
        warning = search.count_warning(query)
        bundle = resources.searchset(
            entries=[(self.full_url(r), r) for r in shown], total=total,
            links=self.links(total, paging),
            included=[(self.full_url(r), r) for _, r in included],
            outcome=(resources.operation_outcome(warning, code="too-costly", severity="warning")
                     if warning else None))
        return Response(bundle)

    def common(self, qs, query):
        """``_id``, ``_lastUpdated`` and ``_sort`` applied to ``qs``."""
        wanted = search.ids(query)
        if wanted is not None:
            qs = qs.filter(pk__in=[int(i) for i in wanted if i.isdigit() and len(i) <= 18])
        if self.last_updated_field:
            q = self.date_q(query, "_lastUpdated", self.last_updated_field)
            if q is not None:
                qs = qs.filter(q)
        order = search.order_by(query, self.sorts(), ())
        return qs.order_by(*order) if order else qs

    def included(self, query, patient_ids) -> list[tuple[int, object]]:
        """``(patient id, resource)`` for ``_include`` (the Patients the page references)
        and ``_revinclude`` (what references the Patients on the page)."""
        out: list[tuple[int, object]] = []
        if query.getlist("_include") and patient_ids:
            rows = self.visible_patients().filter(pk__in=set(patient_ids)).order_by("pk")
            out += [(p.pk, resources.patient_resource(p)) for p in rows]
        types = {v.split(":")[0] for value in query.getlist("_revinclude")
                 for v in value.split(",")}
        if types and patient_ids:
            out += compartment.resources_for(sorted(set(patient_ids)), types=types)
        return out

    def search(self, query, paging):  # pragma: no cover - abstract
        raise NotImplementedError

    def links(self, total: int, paging: search.Paging) -> list[tuple[str, str]]:
        out = [("self", self.request.build_absolute_uri())]
        count = paging.count
        if count and paging.offset + count < total:
            out.append(("next", self.page_url(paging.offset + count, count)))
        if count and paging.offset > 0:
            out.append(("previous", self.page_url(max(0, paging.offset - count), count)))
        return out

    def page_url(self, offset: int, count: int) -> str:
        params = [(k, v) for k, values in self.request.query_params.lists()
                  for v in values if k not in ("_offset", "_count")]
        params += [("_count", str(count)), ("_offset", str(offset))]
        return f"{self.request.build_absolute_uri(self.request.path)}?{urlencode(params)}"

    # --- shared parameter readers -----------------------------------------------------

    def patient_ids(self, query, *, required: bool = False) -> list[int] | None:
        value = search.single(query, "patient")
        if value is None:
            if required:
                raise search.SearchError(
                    f"{self.resource_type} searches need a 'patient' parameter.",
                    param="patient")
            return None
        return search.reference_ids(value, "Patient", param="patient")

    def date_q(self, query, name: str, field: str):
        ranges = search.date_params(query, name, ZoneInfo(settings.TIME_ZONE))
        return search.date_q(field, ranges) if ranges else None

    def page_of(self, qs, paging):
        total = qs.count()
        rows = list(qs[paging.offset: paging.offset + paging.count]) if paging.count else []
        return total, rows


class ReadView(FHIRView):
    """``GET /fhir/<Type>/<id>``; 404 (OperationOutcome) for an unknown id. A resource with
    ``meta.versionId`` answers ``ETag: W/"<versionId>"``, and 304 (no body) to a request
    whose ``If-None-Match`` names that version."""

    def get(self, request, *args, **kwargs):
        return versioned_response(request, self.read(kwargs["id"]))

    def read(self, ident: str):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def pk(ident: str) -> int:
        if not ident.isdigit() or len(ident) > 18:
            raise Http404
        return int(ident)


def _without(query, name: str):
    """A copy of the query without ``name`` (handled by the caller)."""
    copy = query.copy()
    copy.pop(name, None)
    return copy


def etag_of(resource) -> str | None:
    meta = getattr(resource, "meta", None)
    version = getattr(meta, "versionId", None) if meta is not None else None
    return f'W/"{version}"' if version else None


def versioned_response(request, resource) -> Response:
    etag = etag_of(resource)
    if etag:
        asked = request.META.get("HTTP_IF_NONE_MATCH", "")
        tags = {t.strip().removeprefix("W/") for t in asked.split(",") if t.strip()}
        if etag.removeprefix("W/") in tags or "*" in tags:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response = Response(resource)
    if etag:
        response["ETag"] = etag
        last = getattr(resource.meta, "lastUpdated", None)
        if hasattr(last, "timestamp"):
            response["Last-Modified"] = http_date(last.timestamp())
    return response


# --- metadata --------------------------------------------------------------------------------

class MetadataView(FHIRView):
    """The CapabilityStatement. Open to anyone (it holds no patient data), as FHIR clients
    read it before authenticating."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    permission = None  # public: no entry in ipm.roles.PERMISSIONS

    def get(self, request, *args, **kwargs):
        described = []
        for resource_type, (read_view, search_view) in RESOURCE_VIEWS.items():
            described.append({
                "type": resource_type, "read": read_view is not None,
                "versioned": getattr(read_view, "versioned", False),
                "search": list(search_view.all_params()) if search_view else None,
                "include": search_view.includes if search_view else (),
                "revinclude": search_view.revincludes if search_view else (),
                "create": bool(search_view and "post" in search_view.http_method_names),
                "operations": OPERATIONS.get(resource_type, ()),
            })
        return Response(resources.capability_statement(base_url=self.base_url(),
                                                       resources=described))


# Type-level and instance-level operations, by resource type (advertised and served).
OPERATIONS = {
    "Patient": (("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
                ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export")),
}


# --- Patient ---------------------------------------------------------------------------------

class PatientSearchView(SearchView):
    resource_type = "Patient"
    audit_object_type = "patients.patient"
    last_updated_field = "updated_at"
    sort_fields = {"birthdate": "birth_date", "family": "family_name", "given": "given_name"}
    revincludes = tuple(f"{t}:{p}" for t in ("QuestionnaireResponse", "Observation",
                                            "ServiceRequest", "Flag", "DocumentReference",
                                            "Encounter")
                        for p in ("patient", "subject")) + ("Appointment:patient",)
    params = (
        ("identifier", "token", "MRN: 'system|value' or 'value'"),
        ("name", "string", "Start of the given or family name, case-insensitive"),
        ("birthdate", "date", "Date of birth (eq, ne, gt, lt, ge, le)"),
    )

    def search(self, query, paging):
        identifier = search.single(query, "identifier")
        qs = selectors.patients_search(user=self.request.user,
            identifiers=(search.tokens(identifier, param="identifier")
                         if identifier is not None else None),
            names=[[v for v in value.split(",") if v] for value in query.getlist("name")],
            birthdate=self.date_q(query, "birthdate", "birth_date"),
        )
        total, rows = self.page_of(self.common(qs, query), paging)
        return total, [resources.patient_resource(p) for p in rows], [p.pk for p in rows]


class PatientReadView(ReadView):
    versioned = True

    def read(self, ident):
        patient = selectors.patients(self.request.user).filter(pk=self.pk(ident)).first()
        if patient is None:
            raise Http404
        resource = resources.patient_resource(patient)
        self.audit_read(patient, resource)
        return resource


# --- Questionnaire ---------------------------------------------------------------------------

class QuestionnaireSearchView(SearchView):
    """The instruments (no patient data: any signed-in role)."""

    resource_type = "Questionnaire"
    permission = "reference.view"
    params = (("url", "uri", "Canonical URL"),
              ("name", "string", "Computable name (start, case-insensitive)"))

    def search(self, query, paging):
        urls = search.single(query, "url")
        name = search.single(query, "name")
        found = [resources.questionnaire_resource(i.code) for i in instruments.all_instruments()]
        wanted = search.ids(query)
        if wanted is not None:
            found = [q for q in found if q.id in {codes.to_fhir_id(i) for i in wanted}]
        if search.sort_keys(query):
            found.sort(key=lambda q: q.id, reverse=query["_sort"].startswith("-"))
        if urls is not None:
            found = [q for q in found if q.url in urls.split(",")]
        if name is not None:
            found = [q for q in found if q.name.lower().startswith(name.lower())]
        page = found[paging.offset: paging.offset + paging.count]
        return len(found), page, []


class QuestionnaireReadView(ReadView):
    permission = "reference.view"

    def read(self, ident):
        code = codes.from_fhir_id(ident)
        if code not in instruments.CODES:
            raise Http404
        return resources.questionnaire_resource(code)


# --- QuestionnaireResponse -------------------------------------------------------------------

class QuestionnaireResponseSearchView(SearchView):
    resource_type = "QuestionnaireResponse"
    audit_object_type = "outcomes.questionnaireresponse"
    last_updated_field = "answered_at"  # responses are never edited
    sort_fields = {"authored": "answered_at"}
    includes = ("QuestionnaireResponse:patient", "QuestionnaireResponse:subject")
    params = (
        ("patient", "reference", "Patient/<id> or <id>"),
        ("authored", "date", "When answered (eq, ne, gt, lt, ge, le)"),
        ("questionnaire", "reference", "Questionnaire canonical URL or id, e.g. phq9"),
    )

    def search(self, query, paging):
        questionnaire = search.single(query, "questionnaire")
        qs = selectors.responses_search(user=self.request.user,
            patient_ids=self.patient_ids(query),
            instruments=(search.questionnaire_codes(questionnaire, param="questionnaire")
                         if questionnaire is not None else None),
            authored=self.date_q(query, "authored", "answered_at"),
        )
        total, rows = self.page_of(self.common(qs, query), paging)
        return (total, [resources.questionnaire_response_resource(r) for r in rows],
                [r.patient_id for r in rows])


class QuestionnaireResponseReadView(ReadView):
    versioned = True

    def read(self, ident):
        response = selectors.responses(self.request.user).filter(pk=self.pk(ident)).first()
        if response is None:
            raise Http404
        resource = resources.questionnaire_response_resource(response)
        self.audit_read(response, resource)
        return resource


# --- Observation -----------------------------------------------------------------------------

class ObservationSearchView(SearchView):
    """One Observation per score of each response. Searches are per patient: a patient's
    responses are few, so the page is cut from their score list in memory."""

    resource_type = "Observation"
    audit_object_type = "outcomes.questionnaireresponse"
    last_updated_field = "answered_at"
    sort_fields = {"date": "answered_at"}
    includes = ("Observation:patient", "Observation:subject")
    params = (
        ("patient", "reference", "Required. Patient/<id> or <id>"),
        ("code", "token", "LOINC ('http://loinc.org|44261-6' or '44261-6') or local score "
                          f"code ('{codes.SCORE_SYSTEM}|phq9.total' or 'phq9.total')"),
        ("date", "date", "When the response was given (eq, ne, gt, lt, ge, le)"),
    )

    def search(self, query, paging):
        patient_ids = self.patient_ids(query, required=True)
        keys = self.keys_by_instrument(search.single(query, "code"))
        qs = selectors.responses_search(user=self.request.user, patient_ids=patient_ids, instruments=list(keys),
                                        authored=self.date_q(query, "date", "answered_at"))
        wanted = search.ids(query)
        id_keys = None
        if wanted is not None:  # Observation ids are "<response id>-<score key>"
            id_keys = {p for p in map(codes.parse_observation_id, wanted) if p is not None}
            qs = qs.filter(pk__in={pk for pk, _ in id_keys})
        qs = self.common(qs, _without(query, "_id"))
        # Score list: (response id, key) in response order, then key order.
        scores = [(pk, key) for pk, instrument in qs.values_list("pk", "instrument")
                  for key in keys[instrument] if id_keys is None or (pk, key) in id_keys]
        page = scores[paging.offset: paging.offset + paging.count]
        rows = {r.pk: r for r in qs.filter(pk__in={pk for pk, _ in page})} if page else {}
        shown = [resources.observation_resource(rows[pk], key) for pk, key in page]
        return (len(scores), [o for o in shown if o is not None],
                [r.patient_id for r in rows.values()])

    @staticmethod
    def keys_by_instrument(code_param: str | None) -> dict[str, tuple[str, ...]]:
        if code_param is None:
            return {i.code: resources.observation_keys(i.code)
                    for i in instruments.all_instruments()}
        wanted = search.tokens(code_param, param="code")
        out: dict[str, list[str]] = {}
        for instrument, key, codings in resources.all_score_codes():
            if any(search.token_matches(t, c["system"], c["code"])
                   for t in wanted for c in codings):
                out.setdefault(instrument, []).append(key)
        return {k: tuple(v) for k, v in out.items()}


class ObservationReadView(ReadView):
    versioned = True

    def read(self, ident):
        parsed = codes.parse_observation_id(ident)
        if parsed is None:
            raise Http404
        response_id, key = parsed
        response = selectors.responses(self.request.user).filter(pk=response_id).first()
        if response is None or key not in resources.observation_keys(response.instrument):
            raise Http404
        resource = resources.observation_resource(response, key)
        if resource is None:
            raise Http404
        self.audit_read(response, resource)
        return resource


# --- ServiceRequest (referrals) --------------------------------------------------------------

class ServiceRequestSearchView(SearchView):
    """Search referrals; ``POST`` (a service account with the integration role only) sends
    a referral in (``ingest``)."""

    resource_type = "ServiceRequest"
    audit_object_type = "referrals.referral"
    last_updated_field = "updated_at"
    sort_fields = {"authored": "referred_at"}
    includes = ("ServiceRequest:patient", "ServiceRequest:subject")
    http_method_names = ["get", "head", "post"]
    permission = {"GET": "patient.view", "POST": "referral.receive"}
    params = (
        ("patient", "reference", "Patient/<id> or <id>"),
        ("status", "token", "active (new, triaged, scheduled, in treatment), completed "
                            "(discharged), revoked (declined, cancelled)"),
    )

    def search(self, query, paging):
        status_param = search.single(query, "status")
        statuses = None
        if status_param is not None:
            statuses = [s for t in search.tokens(status_param, param="status") if t.code
                        for s in resources.fhir_referral_statuses(t.code)]
        qs = selectors.referrals_search(user=self.request.user, patient_ids=self.patient_ids(query), statuses=statuses)
        total, rows = self.page_of(self.common(qs, query), paging)
        return (total, [resources.service_request_resource(r) for r in rows],
                [r.patient_id for r in rows])

    def post(self, request, *args, **kwargs):
        resource = ingest.parse_body(request.body, request.content_type,
                                     expected=("ServiceRequest",))
        referral, created = ingest.service_request_receive(resource=resource,
                                                           actor=request.user)
        referral = selectors.referrals().get(pk=referral.pk)
        shown = resources.service_request_resource(referral)
        return Response(shown, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"Location": self.full_url(shown), "ETag": etag_of(shown)})


class ServiceRequestReadView(ReadView):
    versioned = True

    def read(self, ident):
        referral = selectors.referrals(self.request.user).filter(pk=self.pk(ident)).first()
        if referral is None:
            raise Http404
        resource = resources.service_request_resource(referral)
        self.audit_read(referral, resource)
        return resource


# --- Appointment (group sessions) ------------------------------------------------------------

class AppointmentSearchView(SearchView):
    resource_type = "Appointment"
    audit_object_type = "visits.groupsession"
    sort_fields = {"date": "starts_at"}
    includes = ("Appointment:patient", "Appointment:actor")
    params = (
        ("patient", "reference", "Sessions of the group series the patient is enrolled in "
                                 "(or completed)"),
        ("date", "date", "Session start (eq, ne, gt, lt, ge, le)"),
    )

    def search(self, query, paging):
        qs = selectors.sessions_search(user=self.request.user, patient_ids=self.patient_ids(query),
                                       date=self.date_q(query, "date", "starts_at"))
        total, rows = self.page_of(self.common(qs, query), paging)
        participants = selectors.session_participants(rows, self.request.user)
        shown = [resources.appointment_resource(s, participants[s.series_id]) for s in rows]
        patient_ids = [p.pk for s in rows for p in participants[s.series_id]]
        return total, shown, patient_ids


class AppointmentReadView(ReadView):
    def read(self, ident):
        session = selectors.sessions(self.request.user).filter(pk=self.pk(ident)).first()
        if session is None:
            raise Http404
        patients = selectors.session_participants([session], self.request.user)[session.series_id]
        resource = resources.appointment_resource(session, patients)
        self.audit_read(session, resource, patient_ids=[p.pk for p in patients])
        return resource


# --- Appointment (one-to-one visits too), Encounter, Schedule, Slot ---------------------------
# docs/product.md §8; resources and reads in fhir_api/appointments.py.

class IndividualAppointmentSearchView(AppointmentSearchView):
    """Group sessions first, then one-to-one appointments (`individual-<id>`), paged as one
    list; `_id` and `_sort` apply to each part."""

    audit_object_type = "appointments.appointment"
    last_updated_field = None
    params = (
        ("patient", "reference", "The patient's group sessions and individual appointments"),
        ("date", "date", "Start (eq, ne, gt, lt, ge, le)"),
    )

    def search(self, query, paging):
        patient_ids = self.patient_ids(query)
        date = self.date_q(query, "date", "starts_at")
        group_total, shown, ids = super().search(query, paging)
        one_to_one = individual.individual(self.request.user, patient_ids, date)
        wanted = search.ids(query)
        if wanted is not None:
            one_to_one = one_to_one.filter(pk__in=individual.individual_pks(wanted))
        order = search.order_by(query, self.sorts(), ())
        if order:
            one_to_one = one_to_one.order_by(*order)
        total = group_total + one_to_one.count()
        room = paging.count - len(shown)
        if room > 0:
            start = max(0, paging.offset - group_total)
            for appt in one_to_one[start:start + room]:
                shown.append(individual.appointment_resource(appt))
                ids.append(appt.patient_id)
        return total, shown, ids


class IndividualAppointmentReadView(AppointmentReadView):
    """`individual-<id>` is a one-to-one appointment; a plain id is a group session."""

    def read(self, ident):
        if not ident.startswith(individual.PREFIX):
            return super().read(ident)
        appt = (individual.individual(self.request.user)
                .filter(pk=self.pk(ident[len(individual.PREFIX):])).first())
        if appt is None:
            raise Http404
        resource = individual.appointment_resource(appt)
        self.audit_read(appt, resource)
        return resource


class EncounterSearchView(SearchView):
    resource_type = "Encounter"
    audit_object_type = "appointments.appointment"
    last_updated_field = "updated_at"
    sort_fields = {"date": "starts_at"}
    includes = ("Encounter:patient", "Encounter:subject")
    params = (("patient", "reference", "Patient/<id> or <id>"),
              ("date", "date", "Visit start (eq, ne, gt, lt, ge, le)"))

    def search(self, query, paging):
        qs = individual.individual(self.request.user, self.patient_ids(query),
                                   self.date_q(query, "date", "starts_at")).filter(
            status=individual.rules.ATTENDED)
        total, rows = self.page_of(self.common(qs, query), paging)
        return (total, [individual.encounter_resource(a) for a in rows],
                [a.patient_id for a in rows])


class EncounterReadView(ReadView):
    def read(self, ident):
        appt = individual.individual(self.request.user).filter(
            pk=self.pk(ident), status=individual.rules.ATTENDED).first()
        if appt is None:
            raise Http404
        resource = individual.encounter_resource(appt)
        self.audit_read(appt, resource)
        return resource


class ScheduleSearchView(SearchView):
    """Clinicians' schedules (no patient data)."""

    resource_type = "Schedule"
    params = (("actor", "reference", "Practitioner/<user id> or <user id>"),)

    def search(self, query, paging):
        qs = individual.clinicians_with_hours().order_by("pk")
        actor = search.single(query, "actor")
        if actor is not None:
            qs = qs.filter(pk__in=individual.reference_ids(actor, "Practitioner", param="actor"))
        total, rows = self.page_of(self.common(qs, query), paging)
        windows = individual.windows_of(u.pk for u in rows)
        return total, [individual.schedule_resource(u, windows.get(u.pk, [])) for u in rows], []


class ScheduleReadView(ReadView):
    def read(self, ident):
        clinician = individual.clinicians_with_hours().filter(pk=self.pk(ident)).first()
        if clinician is None:
            raise Http404
        return individual.schedule_resource(
            clinician, individual.windows_of([clinician.pk]).get(clinician.pk, []))


class SlotSearchView(SearchView):
    """Free slots of a schedule, computed from weekly hours, leave, holidays and bookings."""

    resource_type = "Slot"
    params = (("schedule", "reference", "Schedule/<clinician id> (default: every clinician "
                                        "with weekly hours)"),
              ("start", "date", "Slot start; ge/le bound the days searched (default: the next "
                                "14 days)"),
              ("duration", "number", "Slot length in minutes (default 45)"))

    def search(self, query, paging):
        slots = individual.free_slots(query)
        wanted = search.ids(query)
        if wanted is not None:
            slots = [s for s in slots if individual.slot_id(s) in wanted]
        page = slots[paging.offset: paging.offset + paging.count] if paging.count else []
        return len(slots), [individual.slot_resource(s) for s in page], []


class SlotReadView(ReadView):
    def read(self, ident):
        slot = individual.slot_get(ident)
        if slot is None:
            raise Http404  # booked, past, or never free
        return individual.slot_resource(slot)


# --- Flag (safety alerts) --------------------------------------------------------------------

FLAG_STATUS = {"active": ["open"], "inactive": ["acknowledged"]}


class FlagSearchView(SearchView):
    resource_type = "Flag"
    audit_object_type = "outcomes.safetyalert"
    last_updated_field = "last_changed"  # acknowledged, else opened (annotated)
    includes = ("Flag:patient", "Flag:subject")
    params = (
        ("patient", "reference", "Patient/<id> or <id>"),
        ("status", "token", "active (open) or inactive (acknowledged)"),
    )

    def search(self, query, paging):
        status_param = search.single(query, "status")
        statuses = None
        if status_param is not None:
            statuses = [s for t in search.tokens(status_param, param="status") if t.code
                        for s in FLAG_STATUS.get(t.code, [])]
        qs = selectors.alerts_search(user=self.request.user, patient_ids=self.patient_ids(query), statuses=statuses)
        qs = qs.annotate(last_changed=Coalesce("acknowledged_at", "opened_at"))
        total, rows = self.page_of(self.common(qs, query), paging)
        return total, [resources.flag_resource(a) for a in rows], [a.patient_id for a in rows]


class FlagReadView(ReadView):
    versioned = True

    def read(self, ident):
        alert = selectors.alerts(self.request.user).filter(pk=self.pk(ident)).first()
        if alert is None:
            raise Http404
        resource = resources.flag_resource(alert)
        self.audit_read(alert, resource)
        return resource


# --- DocumentReference + Binary (letters) ----------------------------------------------------

class DocumentReferenceSearchView(SearchView):
    """The patient's letters (intake and discharge summary), rendered when the Binary is
    read."""

    resource_type = "DocumentReference"
    audit_object_type = "patients.patient"
    includes = ("DocumentReference:patient", "DocumentReference:subject")
    params = (
        ("patient", "reference", "Required. Patient/<id> or <id>"),
        ("type", "token", "LOINC document type: 11488-4 (intake summary, consult note) or "
                          "18842-5 (discharge summary)"),
    )

    @classmethod
    def sorts(cls) -> dict[str, str]:
        return {"_id": "pk"}

    def search(self, query, paging):
        patient_ids = self.patient_ids(query, required=True)
        wanted_ids = search.ids(query)
        type_param = search.single(query, "type")
        kinds = list(letters.KINDS)
        if type_param is not None:
            tokens = search.tokens(type_param, param="type")
            kinds = [k for k in kinds if any(search.token_matches(
                t, codes.LETTER_TYPE_SYSTEM, codes.LETTER_TYPES[k][0]) for t in tokens)]
        found = [(pid, r) for pid, r in compartment.resources_for(
                 [p.pk for p in self.visible_patients().filter(pk__in=patient_ids)],
                 types=("DocumentReference",))
                 if r.id.rsplit("-", 1)[1] in kinds
                 and (wanted_ids is None or r.id in wanted_ids)]
        if query.get("_sort", "").startswith("-"):
            found.reverse()
        page = found[paging.offset: paging.offset + paging.count]
        return len(found), [r for _, r in page], [pid for pid, _ in page]


class DocumentReferenceReadView(ReadView):
    def read(self, ident):
        parsed = letters.parse_document_id(ident)
        patient = (self.visible_patients().filter(pk=parsed[0]).first() if parsed else None)
        if patient is None:
            raise Http404
        found = dict((r.id, r) for _, r in compartment.resources_for(
            [patient.pk], types=("DocumentReference",)))
        resource = found[ident]
        self.audit_read(patient, resource)
        return resource


class BinaryReadView(ReadView):
    """A letter's PDF: raw ``application/pdf`` to a client that asks for it (``Accept``),
    else a FHIR Binary with the PDF base64-encoded."""

    def perform_content_negotiation(self, request, force=False):
        accept = request.META.get("HTTP_ACCEPT", "")
        self.wants_pdf = "application/pdf" in accept and "fhir+json" not in accept
        if self.wants_pdf:  # errors still answer FHIR JSON
            return FHIRJSONRenderer(), FHIRJSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    def get(self, request, *args, **kwargs):
        parsed = letters.parse_document_id(kwargs["id"])
        patient = (self.visible_patients().select_related("site", "clinician")
                   .filter(pk=parsed[0]).first() if parsed else None)
        if patient is None:
            raise Http404
        kind = parsed[1]
        pdf = letters.render_pdf(patient, kind)
        audit_record(request=request, actor=request.user, action="read", obj=patient,
                     detail={"fhir": f"Binary/{kwargs['id']}", "letter": kind})
        if getattr(self, "wants_pdf", False):
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = (
                f'inline; filename="{letters.filename(patient, kind)}"')
            return response
        return Response(letters.binary_resource(patient.pk, kind, pdf))


class UnknownView(FHIRView):
    """Anything else under /fhir/: a 404 OperationOutcome naming what is supported."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    permission = None  # public: no entry in ipm.roles.PERMISSIONS

    def get(self, request, *args, **kwargs):
        raise NotFound(f"No FHIR resource or operation at '{kwargs.get('path', '')[:100]}'. "
                       f"Supported: metadata, {', '.join(RESOURCE_VIEWS)}.")


RESOURCE_VIEWS: dict[str, tuple[type[ReadView] | None, type[SearchView] | None]] = {
    "Patient": (PatientReadView, PatientSearchView),
    "Questionnaire": (QuestionnaireReadView, QuestionnaireSearchView),
    "QuestionnaireResponse": (QuestionnaireResponseReadView, QuestionnaireResponseSearchView),
    "Observation": (ObservationReadView, ObservationSearchView),
    "ServiceRequest": (ServiceRequestReadView, ServiceRequestSearchView),
    "Appointment": (IndividualAppointmentReadView, IndividualAppointmentSearchView),
    "Flag": (FlagReadView, FlagSearchView),
    "DocumentReference": (DocumentReferenceReadView, DocumentReferenceSearchView),
    "Binary": (BinaryReadView, None),
    "Encounter": (EncounterReadView, EncounterSearchView),
    "Schedule": (ScheduleReadView, ScheduleSearchView),
    "Slot": (SlotReadView, SlotSearchView),
}
