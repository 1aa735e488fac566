"""Outcomes API (docs/product.md §4): instruments, responses, response time series, questionnaire
links and safety alerts. Thin views: parse with an input serializer, call one service or
selector, render an output serializer."""

from datetime import timedelta
from urllib.parse import urlsplit

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.errors import InvalidInput, NotFound
from ipm.roles import HasRole
from ipm.validators import validate_care_date
from patients.models import Patient
from patients.program import crisis_message_for
from patients.scoping import visible

from . import instruments, selectors, services, views
from .filters import AlertFilter, PatientResponseFilter
from .models import QuestionnaireResponse, SafetyAlert

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
TOKEN = OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH,
                         description="The link's token, as in the URL the patient was sent.")


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
    asked_when = serializers.JSONField(
        allow_null=True, help_text="Skip logic: {item, equals} when the item is asked only after "
                                   "that answer (then it is required; otherwise it must be "
                                   "absent); null when always asked.")


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
    permission = "reference.view"
    serializer_class = InstrumentSerializer
    filter_backends: list = []

    def get_queryset(self):
        return [instrument.as_dict() for instrument in instruments.all_instruments()]


class InstrumentDetailApi(APIView):
    permission_classes = [HasRole]
    permission = "reference.view"

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
    answered_at = serializers.DateTimeField(required=False, validators=[validate_care_date])


class ResponseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    instrument = serializers.CharField()
    instrument_version = serializers.CharField()
    answered_at = serializers.DateTimeField()
    answers = serializers.JSONField()
    scores = serializers.JSONField()
    alerts = AlertBriefSerializer(many=True)
    crisis_message = serializers.SerializerMethodField(
        help_text="When an alert opened: the program's crisis message to give the patient "
                  "now; null otherwise.")

    def get_crisis_message(self, obj) -> str | None:
        return crisis_message_for(obj.patient.program) if obj.alerts else None


def _field(data, name: str):
    return data.get(name, "") if hasattr(data, "get") else ""


def _future(moment) -> bool:
    return moment > timezone.now() + timedelta(minutes=5)


class ResponseCreateApi(APIView):
    """Record a completed instrument: validated whole, scored, stored with the instrument
    version; PHQ-9 item 9 above 0 opens a safety alert in the same transaction."""

    permission_classes = [HasRole]
    permission = "response.record"

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


class PatientResponsesApi(AuditedReadMixin, generics.ListAPIView):
    """A patient's responses over time (ordered by answered_at) with the change from the
    baseline (their first response of the same instrument)."""

    permission_classes = [HasRole]
    permission = "patient.view"
    serializer_class = ResponseSeriesSerializer
    filterset_class = PatientResponseFilter
    audit_object_type = "outcomes.questionnaireresponse"
    queryset = QuestionnaireResponse.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset
        patient = get_object_or_404(visible(Patient.objects.only("pk"), self.request.user, ""),
                                    pk=self.kwargs["pk"])
        return selectors.patient_responses(patient=patient)


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
    permission = "questionnaire_link.send"

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

class AlertEscalationSerializer(serializers.Serializer):
    to = serializers.IntegerField(source="to_id", help_text="User id of the person reached.")
    level = serializers.IntegerField(help_text="1: the clinical lead, 2: the deputy lead.")
    at = serializers.DateTimeField()


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = SafetyAlert
        fields = ["id", "patient", "kind", "status", "opened_at", "assigned_to",
                  "acknowledged_by", "acknowledged_at", "action", "action_note", "retry_at",
                  "escalated_at", "escalated_to", "cssrs_risk"]


class AlertDetailSerializer(AlertSerializer):
    escalations = AlertEscalationSerializer(many=True, read_only=True,
                                            help_text="Every escalation step, in order.")
    emergency_review = serializers.BooleanField(
        read_only=True, help_text="True when the C-SSRS risk is high: review as an emergency.")

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "escalations", "emergency_review"]


class AlertListApi(AuditedReadMixin, generics.ListAPIView):
    """Safety alerts, newest first; `?status=open` for those awaiting acknowledgement."""

    permission_classes = [HasRole]
    permission = "alert.view"
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    audit_object_type = "outcomes.safetyalert"

    def get_queryset(self):
        return selectors.alerts_list(user=self.request.user)


class AlertDetailApi(AuditedReadMixin, generics.RetrieveAPIView):
    """One safety alert with its assigned person, every escalation step and the C-SSRS risk
    (docs/product.md §7)."""

    permission_classes = [HasRole]
    permission = "alert.view"
    serializer_class = AlertDetailSerializer
    audit_object_type = "outcomes.safetyalert"
    queryset = SafetyAlert.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset
        return selectors.alerts_list(user=self.request.user).prefetch_related("escalations")


class AlertAcknowledgeApi(APIView):
    """Record the action taken on an open alert (clinicians): `action` (called_patient,
    safety_plan, emergency_services, no_answer, other; default other) and a `note`.
    `no_answer` keeps the alert open and schedules a retry. 409 if already acknowledged."""

    permission_classes = [HasRole]
    permission = "alert.act"

    @extend_schema(request=inline_serializer("AlertAcknowledgeInput", {
                       "action": serializers.ChoiceField(choices=SafetyAlert.Action.choices,
                                                         required=False),
                       "note": serializers.CharField()}),
                   responses={200: AlertDetailSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request, pk: int):
        alert = get_object_or_404(visible(SafetyAlert.objects.all(), request.user), pk=pk)
        alert = services.alert_acknowledge(alert=alert, actor=request.user,
                                           note=_field(request.data, "note"),
                                           action=_field(request.data, "action") or None)
        alert = SafetyAlert.objects.prefetch_related("escalations").get(pk=alert.pk)
        return Response(AlertDetailSerializer(alert).data)


# --- The patient's questionnaire link (no login) -----------------------------------------

class LinkQuestionnaireSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField()
    instruments = InstrumentSerializer(many=True, help_text="The instruments to answer, in order.")


class LinkAnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="{instrument code: {item key: value}} for every instrument of the link.")


class LinkSubmittedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["submitted"])
    responses = serializers.ListField(child=serializers.IntegerField(),
                                      help_text="Ids of the responses saved.")
    crisis_message = serializers.CharField(
        required=False, help_text="Present only after a positive self-harm answer: the "
                                  "program's crisis message, to show the patient at once.")


def _link_answers(**ok):
    """Each answer in JSON (asked for with `Accept` or a JSON body) or as the HTML page."""
    html = OpenApiTypes.STR
    answers = {}
    for code, serializer in {**ok, 404: ErrorSerializer, 410: ErrorSerializer,
                             429: ErrorSerializer}.items():
        code = int(code)
        answers[(code, "application/json")] = serializer
        answers[(code, "text/html")] = html
    return answers


@extend_schema(tags=["questionnaire-link"], auth=[])
class QuestionnaireLinkApi(APIView):
    """`/q/<token>/`: the page the patient's link opens, and its JSON twin (SPEC §4).

    No login: the unguessable token is the credential. Everything is done by
    `outcomes.views.questionnaire` (the page, its rate limit, the single-use claim); this
    class puts the endpoint in the OpenAPI schema. GET: the questions (404 unknown link,
    410 used or expired, 429 too many requests from one address). POST: JSON
    `{"answers": {...}}` (or the page's form): 201 saved, 400 per-item errors, 410, 429."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    permission = None  # public: the token is the credential
    schema_conflicts = False  # a second submission is a 410, not a 409
    parser_classes: list = []  # the page's own code reads the body (ipm.parsers.loads)

    @extend_schema(operation_id="questionnaire_link_read", parameters=[TOKEN],
                   responses=_link_answers(**{"200": LinkQuestionnaireSerializer}))
    def get(self, request, token: str):
        return views.questionnaire(request._request, token)

    @extend_schema(operation_id="questionnaire_link_submit", parameters=[TOKEN],
                   request={"application/json": LinkAnswersSerializer},
                   responses=_link_answers(**{"201": LinkSubmittedSerializer,
                                              "400": ErrorSerializer}))
    def post(self, request, token: str):
        return views.questionnaire(request._request, token)
