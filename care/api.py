"""Care API (SPEC §11): care step, contacts, goals, the billing export and its code table.
Thin views: the services validate (400 naming the field, nothing saved) and write."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin, audit_record
from ipm.roles import ADMIN, HasRole, has_role
from patients.api import PatientSerializer
from patients.models import Patient
from patients.selectors import patient_get

from . import selectors, services
from .models import BillingCode, Contact, Goal, StepDecision

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def _data(request) -> dict:
    return request.data if hasattr(request.data, "get") else {}


def _patient(request, pk: int, *, reading: str = "") -> Patient:
    """The patient when the user works at their site; 404 otherwise. `reading` names what
    of theirs is read (audited even when the list is empty)."""
    patient = get_object_or_404(Patient.objects.visible_to(request.user), pk=pk)
    if reading:
        audit_record(request=request, actor=request.user, action="read", obj=patient,
                     detail={"care": reading})
    return patient


# --- Step ----------------------------------------------------------------------------------

class PatientStepSerializer(PatientSerializer):
    class Meta(PatientSerializer.Meta):
        fields = [*PatientSerializer.Meta.fields, "step"]
        read_only_fields = [*PatientSerializer.Meta.read_only_fields, "step"]


class StepDecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepDecision
        fields = ["id", "patient", "from_step", "to_step", "direction", "reason", "mdt_meeting",
                  "decided_by", "decided_at"]


class PatientStepApi(APIView):
    """POST: a care-step decision (clinicians): `step` 1-3 and a `reason` (400 without).
    The same step with a reason records a "stay" decision. GET: the step history."""

    permission_classes = [HasRole]
    permission = {"GET": "care.view", "POST": "care.step"}

    @extend_schema(responses={200: StepDecisionSerializer(many=True), **ERRORS})
    def get(self, request, pk: int):
        patient = _patient(request, pk, reading="step_decisions")
        return Response(StepDecisionSerializer(patient.step_decisions.all(), many=True).data)

    @extend_schema(request=inline_serializer("StepInput", {
        "step": serializers.ChoiceField(choices=[1, 2, 3]),
        "reason": serializers.CharField()}),
        responses={200: PatientStepSerializer, **ERRORS})
    def post(self, request, pk: int):
        patient = _patient(request, pk)
        data = _data(request)
        services.step_decide(patient=patient, step=data.get("step"), reason=data.get("reason"),
                             actor=request.user)
        return Response(PatientStepSerializer(patient_get(patient.pk)).data)


# --- Contacts ------------------------------------------------------------------------------

class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "patient", "kind", "minutes", "outcome", "note", "next_contact_on",
                  "contacted_at", "recorded_by"]


@extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)])
class PatientContactsApi(AuditedReadMixin, generics.ListAPIView):
    """GET: the patient's care-manager contacts, newest first. POST: record one
    {kind phone|video|in_person|sms|message, minutes 0-600, outcome
    reached|no_answer|left_message, note, next_contact_on, contacted_at (optional)}."""

    permission_classes = [HasRole]
    permission = {"GET": "care.view", "POST": "care.contact"}
    serializer_class = ContactSerializer
    audit_object_type = "care.contact"
    filter_backends: list = []
    queryset = Contact.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.contacts_for(_patient(self.request, self.kwargs["pk"],
                                               reading="contacts"))

    @extend_schema(request=inline_serializer("ContactInput", {
        "kind": serializers.ChoiceField(choices=Contact.Kind.choices),
        "minutes": serializers.IntegerField(min_value=0, max_value=600),
        "outcome": serializers.ChoiceField(choices=Contact.Outcome.choices),
        "note": serializers.CharField(required=False),
        "next_contact_on": serializers.DateField(required=False, allow_null=True),
        "contacted_at": serializers.DateTimeField(required=False)}),
        responses={201: ContactSerializer, **ERRORS})
    def post(self, request, pk: int):
        patient = _patient(request, pk)
        data = _data(request)
        contact = services.contact_create(
            patient=patient, kind=data.get("kind"), minutes=data.get("minutes"),
            outcome=data.get("outcome"), note=data.get("note", ""),
            next_contact_on=data.get("next_contact_on"), contacted_at=data.get("contacted_at"),
            actor=request.user)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


# --- Goals ---------------------------------------------------------------------------------

class GoalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Goal
        fields = ["id", "patient", "text", "activity", "psfs_item", "target_date", "status",
                  "created_by", "created_at", "updated_at"]


GOAL_INPUT = inline_serializer("GoalInput", {
    "text": serializers.CharField(), "activity": serializers.CharField(required=False),
    "target_date": serializers.DateField(required=False, allow_null=True),
    "status": serializers.ChoiceField(choices=Goal.Status.choices, required=False)})


class PatientGoalsApi(generics.ListAPIView):
    """The care plan. GET: the patient's goals. POST: a goal in the patient's words
    {text, activity (rated by the PSFS; takes the next free item a1..a5), target_date}."""

    permission_classes = [HasRole]
    permission = {"GET": "care.view", "POST": "care.plan"}
    serializer_class = GoalSerializer
    filter_backends: list = []
    pagination_class = None
    queryset = Goal.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.goals_for(_patient(self.request, self.kwargs["pk"], reading="goals"))

    def list(self, request, *args, **kwargs):
        return Response(GoalSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=GOAL_INPUT, responses={201: GoalSerializer, **ERRORS})
    def post(self, request, pk: int):
        patient = _patient(request, pk)
        data = _data(request)
        goal = services.goal_create(patient=patient, text=data.get("text"),
                                    activity=data.get("activity") or "",
                                    target_date=data.get("target_date"), actor=request.user)
        return Response(GoalSerializer(goal).data, status=status.HTTP_201_CREATED)


class GoalApi(APIView):
    """PATCH a goal: text, activity, target_date, status (active|achieved|dropped)."""

    permission_classes = [HasRole]
    permission = {"PATCH": "care.plan"}

    @extend_schema(request=GOAL_INPUT, responses={200: GoalSerializer, **ERRORS})
    def patch(self, request, pk: int):
        goal = get_object_or_404(Goal.objects.filter(
            patient__in=Patient.objects.visible_to(request.user)), pk=pk)
        data = _data(request)
        fields = {k: data.get(k) for k in ("text", "activity", "target_date", "status")
                  if k in data}
        goal = services.goal_update(goal=goal, actor=request.user, **fields)
        return Response(GoalSerializer(goal).data)


# --- Billing -------------------------------------------------------------------------------

class BillingRowSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    mrn = serializers.CharField()
    name = serializers.CharField()
    site = serializers.CharField()
    month = serializers.CharField()
    minutes = serializers.IntegerField()
    care_month = serializers.ChoiceField(choices=["first", "subsequent"])
    families = serializers.ListField(child=serializers.JSONField(),
                                     help_text="[{family, codes: [{code, units}]}], every "
                                               "family whose thresholds are met")
    codes = serializers.CharField(help_text="The same, as text: 'cocm: 99493 + 99494; ...'")


def billing_patients(user, site: str = ""):
    """Admins bill for every site (filterable by `site` code); coordinators for theirs."""
    qs = Patient.objects.all() if has_role(user, ADMIN) else Patient.objects.visible_to(user)
    return qs.filter(site__code=site) if site else qs


class BillingExportApi(APIView):
    """Per patient and calendar month (`?month=YYYY-MM`): care-management minutes (contacts
    and signed visit notes) and every family of billing codes whose thresholds are met, from
    the program's billing-code table (admins and coordinators). `?site=CODE` filters."""

    permission_classes = [HasRole]
    permission = "metrics.billing"

    @extend_schema(parameters=[OpenApiParameter("month", str, required=True,
                                                pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$",
                                                description="YYYY-MM"),
                               OpenApiParameter("site", str, description="site code")],
                   responses={200: inline_serializer("BillingExport", {
                       "month": serializers.CharField(),
                       "families": serializers.ListField(child=serializers.CharField()),
                       "rows": BillingRowSerializer(many=True)}), **ERRORS})
    def get(self, request):
        data = selectors.billing_export(
            month=request.query_params.get("month"),
            patients=billing_patients(request.user, request.query_params.get("site", "")))
        audit_record(request=request, actor=request.user, action="export",
                     object_type="care.billing", object_id=data["month"],
                     detail={"export": "billing", "patient_ids": [r["patient"]
                                                                 for r in data["rows"]]})
        return Response(data)


class BillingCodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = BillingCode
        fields = ["id", "program", "code", "family", "description", "month", "min_minutes",
                  "covers_minutes", "add_on_to", "min_additional_minutes", "unit_minutes",
                  "max_units", "source", "active"]


class BillingCodeListApi(generics.ListAPIView):
    """The billing-code table (defaults from CMS MLN909432 / MLN909188; admins edit it in the
    configuration pages)."""

    permission_classes = [HasRole]
    permission = "metrics.billing"
    serializer_class = BillingCodeSerializer
    pagination_class = None
    filter_backends: list = []
    queryset = BillingCode.objects.order_by("program_id", "family", "code")
