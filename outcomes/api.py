"""Outcomes API (SPEC §4): instruments, responses, response time series, questionnaire
links and safety alerts. Thin views: parse with an input serializer, call one service or
selector, render an output serializer."""

from datetime import timedelta
from urllib.parse import urlsplit

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.errors import InvalidInput, NotFound
from ipm.roles import ALL_ROLES, CLINICIAN, PATIENT_ROLES, HasRole
from patients.models import Patient
from patients.scoping import visible

from . import instruments, selectors, services
from .models import QuestionnaireResponse, SafetyAlert

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


# --- Instruments -------------------------------------------------------------------------

class OptionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()


class ItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    required = serializers.BooleanField()
    options = OptionSerializer(many=True)
    loinc = serializers.JSONField(allow_null=True)


class InstrumentSerializer(serializers.Serializer):
    """An instrument as in outcomes/instruments/data/instruments.json."""

    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    recall_period = serializers.CharField()
    items = ItemSerializer(many=True)
    score_keys = serializers.JSONField()
    loinc = serializers.JSONField()
    direction = serializers.JSONField(allow_null=True)
    mcid = serializers.JSONField(allow_null=True)


class InstrumentListApi(generics.ListAPIView):
    """Every instrument with its items and answer options (any staff role)."""

    permission_classes = [HasRole]
    allowed_roles = ALL_ROLES
    serializer_class = InstrumentSerializer
    filter_backends: list = []

    def get_queryset(self):
        return [instrument.as_dict() for instrument in instruments.all_instruments()]


class InstrumentDetailApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = ALL_ROLES

    @extend_schema(responses={200: InstrumentSerializer, 404: ErrorSerializer})
    def get(self, request, code: str):
        try:
            return Response(instruments.get(code).as_dict())
        except instruments.UnknownInstrument:
            raise NotFound(f"Unknown instrument '{code}'.")


# --- Responses ---------------------------------------------------------------------------

class AlertBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()


class ResponseInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    instrument = serializers.CharField()
    answers = serializers.JSONField(help_text="{item key: value}")
    answered_at = serializers.DateTimeField(required=False)


class ResponseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    instrument = serializers.CharField()
    instrument_version = serializers.CharField()
    answered_at = serializers.DateTimeField()
    answers = serializers.JSONField()
    scores = serializers.JSONField()
    alerts = AlertBriefSerializer(many=True)


def _field(data, name: str):
    return data.get(name, "") if hasattr(data, "get") else ""


def _future(moment) -> bool:
    return moment > timezone.now() + timedelta(minutes=5)


class ResponseCreateApi(APIView):
    """Record a completed instrument: validated whole, scored, stored with the instrument
    version; PHQ-9 item 9 above 0 opens a safety alert in the same transaction."""

    permission_classes = [HasRole]
    allowed_roles = PATIENT_ROLES

    @extend_schema(request=ResponseInputSerializer,
                   responses={201: ResponseOutputSerializer, **ERRORS})
    def post(self, request):
        data = ResponseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        errors = {}
        patient = visible(Patient.objects.all(), request.user, "").filter(pk=values["patient"]).first()
        if patient is None:
            errors["patient"] = [f"Unknown patient {values['patient']}."]
        if values["instrument"] not in instruments.CODES:
            errors.update(services.validate_answers(values["instrument"], {}))
        if values.get("answered_at") and _future(values["answered_at"]):
            errors["answered_at"] = ["The answer time cannot be in the future."]
        if errors:
            raise InvalidInput("Invalid " + ", ".join(errors) + ".", errors)
        response = services.response_create(
            patient=patient, instrument=values["instrument"], answers=values["answers"],
            actor=request.user, answered_at=values.get("answered_at"))
        return Response(ResponseOutputSerializer(response).data, status=status.HTTP_201_CREATED)


class ResponseSeriesSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.CharField()
    answered_at = serializers.DateTimeField()
    scores = serializers.JSONField()
    is_baseline = serializers.SerializerMethodField()
    change = serializers.SerializerMethodField(
        help_text="Per headline score {baseline, value, change, classification} against the "
                  "patient's first response of the instrument; null for that baseline itself.")

    def get_is_baseline(self, obj) -> bool:
        return obj.baseline_id == obj.pk

    def get_change(self, obj) -> dict | None:
        return selectors.change_from_baseline(obj)


@extend_schema(parameters=[OpenApiParameter("instrument", str, description="instrument code")])
class PatientResponsesApi(AuditedReadMixin, generics.ListAPIView):
    """A patient's responses over time (ordered by answered_at) with the change from the
    baseline (their first response of the same instrument)."""

    permission_classes = [HasRole]
    allowed_roles = PATIENT_ROLES
    serializer_class = ResponseSeriesSerializer
    audit_object_type = "outcomes.questionnaireresponse"
    queryset = QuestionnaireResponse.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset
        patient = get_object_or_404(visible(Patient.objects.only("pk"), self.request.user, ""),
                                    pk=self.kwargs["pk"])
        code = self.request.query_params.get("instrument") or None
        if code is not None and code not in instruments.CODES:
            raise InvalidInput(f"Unknown instrument '{code}'.",
                               {"instrument": [f"Use one of {', '.join(instruments.CODES)}."]})
        return selectors.patient_responses(patient=patient, instrument=code)


# --- Questionnaire links -----------------------------------------------------------------

class LinkInputSerializer(serializers.Serializer):
    instruments = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    expires_in_days = serializers.IntegerField(required=False, min_value=1,
                                               max_value=services.MAX_LINK_DAYS)


class LinkOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()
    instruments = serializers.ListField(child=serializers.CharField())


class QuestionnaireLinkCreateApi(APIView):
    """Create a single-use, expiring questionnaire link for the patient; questionnaire-due
    reminders go out on the patient's preferred channel (now, +3 and +7 days)."""

    permission_classes = [HasRole]
    allowed_roles = PATIENT_ROLES

    @extend_schema(request=LinkInputSerializer, responses={201: LinkOutputSerializer, **ERRORS})
    def post(self, request, pk: int):
        patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
        data = LinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link, url = services.questionnaire_link_create(
            patient=patient, instruments=data.validated_data["instruments"], actor=request.user,
            expires_in_days=data.validated_data.get("expires_in_days"))
        # The caller gets the link on the host it called (messages use SITE_URL).
        url = request.build_absolute_uri(urlsplit(url).path)
        body = {"id": link.pk, "url": url, "expires_at": link.expires_at,
                "instruments": link.instruments}
        return Response(LinkOutputSerializer(body).data, status=status.HTTP_201_CREATED)


# --- Safety alerts -----------------------------------------------------------------------

class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = SafetyAlert
        fields = ["id", "patient", "kind", "status", "opened_at", "acknowledged_by",
                  "acknowledged_at", "action_note", "escalated_at", "escalated_to"]


@extend_schema(parameters=[OpenApiParameter("status", str, enum=SafetyAlert.Status.values)])
class AlertListApi(AuditedReadMixin, generics.ListAPIView):
    """Safety alerts, newest first; `?status=open` for those awaiting acknowledgement."""

    permission_classes = [HasRole]
    allowed_roles = PATIENT_ROLES
    serializer_class = AlertSerializer
    filter_backends: list = []
    audit_object_type = "outcomes.safetyalert"

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or None
        if wanted is not None and wanted not in SafetyAlert.Status.values:
            raise InvalidInput(f"Unknown status '{wanted}'.",
                               {"status": [f"Use one of {', '.join(SafetyAlert.Status.values)}."]})
        return selectors.alerts_list(status=wanted, user=self.request.user)


class AlertAcknowledgeApi(APIView):
    """Acknowledge an open alert with the action taken (clinicians). 409 if already done."""

    permission_classes = [HasRole]
    allowed_roles = PATIENT_ROLES
    write_roles = (CLINICIAN,)

    @extend_schema(request=inline_serializer("AlertAcknowledgeInput",
                                             {"note": serializers.CharField()}),
                   responses={200: AlertSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request, pk: int):
        alert = get_object_or_404(visible(SafetyAlert.objects.all(), request.user), pk=pk)
        alert = services.alert_acknowledge(alert=alert, actor=request.user,
                                           note=_field(request.data, "note"))
        return Response(AlertSerializer(alert).data)
