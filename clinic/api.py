"""The intake API (docs/product.md §4): POST /api/patients/{id}/intake/ records a whole
intake through clinic.services (patients, outcomes and referrals in one transaction)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm.api import ErrorSerializer
from ipm.roles import HasRole
from patients import pathways
from patients.models import Pathway, Patient, RiskGroup
from patients.program import crisis_message_for
from patients.scoping import visible

from . import services

_ANSWERS = {"type": "object", "additionalProperties": True,
            "description": "Answers by item key, as in GET /api/instruments/."}
# The request body, for the OpenAPI schema only: clinic.services.intake_record validates it
# (every section at once, errors keyed by section then item).
INTAKE_REQUEST = {
    "type": "object",
    "required": ["red_flags", "startback"],
    "properties": {
        "red_flags": {"type": "object", "additionalProperties": {"type": "boolean"},
                      "description": f"Each of {', '.join(pathways.RED_FLAG_KEYS)}: "
                                     "true/false, all required."},
        "startback": {**_ANSWERS, "description": "STarT Back answers q1..q9."},
        **{code: {**_ANSWERS, "nullable": True} for code in services.BASELINE_INSTRUMENTS},
        "mme": {"type": "number", "minimum": 0, "nullable": True,
                "description": "Current daily opioid dose in MME (number >= 0), or null if "
                               "unknown."},
    },
}


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
    crisis_message = serializers.CharField(
        required=False, help_text="Present when an alert opened: the program's crisis message "
                                  "to give the patient now.")


@extend_schema(tags=["patients"])
class IntakeApi(APIView):
    """Record an intake: red flags, STarT Back, optional baseline PEG/PHQ-9/GAD-7/PROMIS-29
    and MME. Returns the risk group, the suggested pathway, scores and any alerts."""

    permission_classes = [HasRole]
    permission = "patient.intake"  # clinicians', as on the intake pages

    @extend_schema(operation_id="patients_intake_create",
                   request={"application/json": INTAKE_REQUEST},
                   responses={201: IntakeResultSerializer, 400: ErrorSerializer})
    def post(self, request, pk: int):
        patient = get_object_or_404(visible(Patient.objects.all(), request.user, ""), pk=pk)
        data = request.data if isinstance(request.data, dict) else {}
        intake = services.intake_record(
            patient=patient, red_flags=data.get("red_flags"), startback=data.get("startback"),
            baseline={code: data.get(code) for code in services.BASELINE_INSTRUMENTS
                      if code in data},
            mme=data.get("mme"), actor=request.user)
        body = services.intake_result(intake)
        if body["alerts"]:
            body["crisis_message"] = crisis_message_for(patient.program)
        return Response(body, status=status.HTTP_201_CREATED)
