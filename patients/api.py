"""Patients API (SPEC §4): create, search, read, intake."""

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from ipm import roles
from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin
from ipm.roles import HasRole

from . import pathways, selectors, services
from .models import Pathway, Patient, RiskGroup, Site
from .scoping import visible


class VisiblePatientField(serializers.PrimaryKeyRelatedField):
    """A patient id the requesting person may see (their sites'): another site's patient is
    "does not exist", exactly like an unknown id."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Patient.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return visible(Patient.objects.all(), getattr(request, "user", None), "")


class PatientSerializer(serializers.ModelSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="red_flag, not_improving, responder, mme_50, mme_90, "
                                            "stopped_reminders, open_safety_alert")
    preferred_channel = serializers.ChoiceField(choices=Patient.Channel.choices, required=False)
    consent_to_contact = serializers.BooleanField(required=False, default=False)
    timezone = serializers.CharField(required=False, help_text="IANA time zone, e.g. Europe/London; defaults to the program's.")
    risk_group = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)
    pathway = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)
    site = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.all(), required=False,
        help_text="Default: the creator's site when they work at exactly one.")
    clinician = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True,
        help_text="The responsible clinician (user id). Default: the clinician creating the "
                  "patient; a coordinator must choose one.")
    care_manager = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True,
        help_text="A clinician or coordinator (user id).")

    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "birth_date", "sex", "email",
                  "phone", "preferred_channel", "consent_to_contact", "timezone", "site",
                  "clinician", "care_manager", "step", "intake_date", "risk_group", "pathway",
                  "flags", "baseline_mme", "current_mme", "created_at"]
        read_only_fields = ["id", "step", "intake_date", "baseline_mme", "current_mme",
                            "created_at"]
        # Uniqueness is checked by the service (409), not by the serializer (400).
        validators: list = []
        extra_kwargs = {"mrn": {"validators": []}, "sex": {"required": False}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["risk_group"] = instance.risk_group or None
        data["pathway"] = instance.pathway or None
        return data


class IntakeInputSerializer(serializers.Serializer):
    red_flags = serializers.DictField(child=serializers.BooleanField(allow_null=True),
                                      help_text=f"Each of {', '.join(pathways.RED_FLAG_KEYS)}: true/false, all required.")
    startback = serializers.DictField(child=serializers.JSONField(), help_text="STarT Back answers q1..q9.")
    peg = serializers.DictField(child=serializers.JSONField(), required=False, allow_null=True)
    phq9 = serializers.DictField(child=serializers.JSONField(), required=False, allow_null=True)
    gad7 = serializers.DictField(child=serializers.JSONField(), required=False, allow_null=True)
    promis29 = serializers.DictField(child=serializers.JSONField(), required=False, allow_null=True)
    mme = serializers.JSONField(required=False, allow_null=True,
                                help_text="Current daily opioid dose in MME (number ≥ 0), or null if unknown.")


class IntakeResultSerializer(serializers.Serializer):
    intake_id = serializers.IntegerField()
    patient = serializers.IntegerField()
    risk_group = serializers.ChoiceField(choices=RiskGroup.choices)
    startback_total = serializers.IntegerField()
    startback_psychosocial = serializers.IntegerField()
    red_flags_present = serializers.ListField(child=serializers.CharField())
    suggested_pathway = serializers.ChoiceField(choices=Pathway.choices)
    suggested_referrals = serializers.ListField(child=inline_serializer(
        "SuggestedReferral", {"service": serializers.CharField(), "priority": serializers.CharField(),
                              "reason": serializers.CharField()}))
    mme = serializers.FloatField(allow_null=True)
    scores = serializers.DictField(child=serializers.DictField(), help_text="Scores per instrument code.")
    alerts = serializers.ListField(child=inline_serializer(
        "IntakeAlert", {"id": serializers.IntegerField(), "kind": serializers.CharField(),
                        "status": serializers.CharField()}))


class PathwayDecisionInputSerializer(serializers.Serializer):
    pathway = serializers.ChoiceField(choices=Pathway.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(tags=["patients"])
class PatientViewSet(AuditedReadMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                     mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Patients. Clinicians and coordinators; admins see aggregates only (403)."""

    serializer_class = PatientSerializer
    permission_classes = [HasRole]
    allowed_roles = roles.PATIENT_ROLES
    filter_backends: list = []
    audit_object_type = "patients.patient"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            p = self.request.query_params
            return selectors.patient_list(user=user, q=p.get("q", ""),
                                          risk_group=p.get("risk_group", ""),
                                          pathway=p.get("pathway", ""), flag=p.get("flag", ""),
                                          mine=p.get("mine", "") in ("1", "true"))
        return selectors.patient_list(user=user)

    @extend_schema(parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, description="Search by name or MRN"),
        OpenApiParameter("risk_group", OpenApiTypes.STR, enum=RiskGroup.values),
        OpenApiParameter("pathway", OpenApiTypes.STR, enum=Pathway.values),
        OpenApiParameter("flag", OpenApiTypes.STR, enum=list(selectors.FLAG_FILTERS)),
        OpenApiParameter("mine", OpenApiTypes.BOOL,
                         description="My caseload: patients whose clinician or care manager I am"),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: PatientSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk, request.user)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PatientSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def partial_update(self, request, *args, **kwargs):
        patient = self.get_object()
        ser = self.get_serializer(patient, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        services.patient_update(patient=patient, actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk, request.user)).data)

    @extend_schema(request=IntakeInputSerializer,
                   responses={201: IntakeResultSerializer, 400: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="intake")
    def intake(self, request, pk=None):
        """Record an intake: red flags, STarT Back, optional baseline PEG/PHQ-9/GAD-7/PROMIS-29
        and MME. Returns the risk group, the suggested pathway, scores and any alerts."""
        patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
        data = request.data if isinstance(request.data, dict) else {}
        intake = services.intake_record(
            patient=patient, red_flags=data.get("red_flags"), startback=data.get("startback"),
            baseline={code: data.get(code) for code in services.BASELINE_INSTRUMENTS
                      if code in data},
            mme=data.get("mme"), actor=request.user)
        return Response(services.intake_result(intake), status=status.HTTP_201_CREATED)

    @extend_schema(request=PathwayDecisionInputSerializer,
                   responses={200: PatientSerializer, 400: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="pathway")
    def pathway(self, request, pk=None):
        """Confirm the suggested pathway, or override it with a reason."""
        patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
        ser = PathwayDecisionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.pathway_decide(patient=patient, actor=request.user, **ser.validated_data)
        return Response(self.get_serializer(selectors.patient_get(patient.pk, request.user)).data)
