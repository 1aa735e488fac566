"""Appointments API (docs/product.md §8): list/book, status, free slots, visit notes.
Thin: validate with an input serializer, call one service or selector, render."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ipm import roles
from ipm.api import ErrorSerializer
from ipm.audit import AuditedReadMixin, audit_record
from ipm.errors import InvalidInput, NotFound
from patients.models import Patient, Program, Site
from referrals.models import Referral, Service

from . import availability, rules, selectors, services
from .filters import AppointmentFilter
from .models import Appointment, VisitNote

User = get_user_model()
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
          409: ErrorSerializer}
MAX_SLOT_DAYS = 31


# --- Serializers ----------------------------------------------------------------------------

class AppointmentInputSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.none(),
                                                 help_text="Patient id (of your sites).")
    clinician = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True),
                                                   help_text="User id of the clinician.")
    service = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all(),
                                           help_text="Service code, e.g. physio.")
    site = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.none(), required=False, allow_null=True,
        help_text="Site id; defaults to yours when you work at one site.")
    referral = serializers.PrimaryKeyRelatedField(queryset=Referral.objects.none(),
                                                  required=False, allow_null=True)
    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=rules.MIN_DURATION,
                                                max_value=rules.MAX_DURATION)
    mode = serializers.ChoiceField(choices=Appointment.Mode.choices,
                                   default=Appointment.Mode.IN_PERSON)
    override = serializers.BooleanField(
        default=False, help_text="Book outside the clinician's availability (needs reason).")
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Why the override is needed.")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        visible = Patient.objects.visible_to(user)
        self.fields["patient"].queryset = visible
        self.fields["site"].queryset = selectors.sites_of(user)
        self.fields["referral"].queryset = Referral.objects.filter(patient__in=visible)


class AppointmentOutputSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="code", read_only=True)
    has_note = serializers.BooleanField(read_only=True, default=False)
    note_signed = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = Appointment
        fields = ["id", "patient", "clinician", "service", "site", "referral", "starts_at",
                  "ends_at", "duration_minutes", "mode", "status", "status_reason",
                  "override_reason", "booked_by", "created_at", "has_note", "note_signed"]


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s for s in Appointment.Status.choices
                                              if s[0] != rules.BOOKED])
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SlotQuerySerializer(serializers.Serializer):
    clinician = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True),
                                                   required=False)
    service = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all(),
                                           required=False)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False)
    duration_minutes = serializers.IntegerField(min_value=rules.MIN_DURATION,
                                                max_value=rules.MAX_DURATION, default=45)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "clinician" not in values and "service" not in values:
            msg = "Give a clinician or a service."
            raise serializers.ValidationError({"clinician": [msg]})
        return values


class SlotSerializer(serializers.Serializer):
    clinician = serializers.IntegerField(source="clinician.pk")
    clinician_name = serializers.SerializerMethodField()
    site = serializers.IntegerField(source="site_id")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(source="minutes")

    def get_clinician_name(self, slot) -> str:
        return slot.clinician.get_full_name() or slot.clinician.username


class VisitNoteSerializer(serializers.ModelSerializer):
    addenda = serializers.SerializerMethodField()

    class Meta:
        model = VisitNote
        fields = ["id", "appointment", "author", "subjective", "objective", "assessment",
                  "plan", "minutes", "signed_at", "created_at", "updated_at", "addenda"]
        read_only_fields = fields

    def get_addenda(self, note) -> list[dict]:
        return [{"author": a.author_id, "text": a.text, "created_at": a.created_at}
                for a in note.addenda.all()]


class VisitNoteInputSerializer(serializers.Serializer):
    subjective = serializers.CharField(required=False, allow_blank=True)
    objective = serializers.CharField(required=False, allow_blank=True)
    assessment = serializers.CharField(required=False, allow_blank=True)
    plan = serializers.CharField(required=False, allow_blank=True)
    minutes = serializers.IntegerField(required=False, min_value=0, max_value=600)


class AddendumInputSerializer(serializers.Serializer):
    text = serializers.CharField()


def _date_param(params, name: str, default):
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"'{name}' must be a date in the form YYYY-MM-DD.",
                           {name: [f"Enter a date as YYYY-MM-DD (got '{raw[:20]}')."]})


# --- Views ----------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List appointments (your sites)",
                       responses={200: AppointmentOutputSerializer}),
    retrieve=extend_schema(summary="One appointment",
                           responses={200: AppointmentOutputSerializer, 404: ErrorSerializer}),
)
class AppointmentViewSet(AuditedReadMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    permission_classes = [roles.HasRole]
    permission = {"list": "appointment.view", "retrieve": "appointment.view",
                  "slots": "appointment.view", "note": "appointment.view",
                  "create": "appointment.book", "set_status": "appointment.book",
                  "note_put": "note.write", "note_sign": "note.write",
                  "note_addendum": "note.write"}
    lookup_value_regex = r"\d+"
    serializer_class = AppointmentOutputSerializer
    filterset_class = AppointmentFilter
    audit_object_type = "appointments.appointment"

    def get_queryset(self):
        return selectors.appointments_visible_to(self.request.user)

    @extend_schema(summary="Book an appointment", request=AppointmentInputSerializer,
                   responses={201: AppointmentOutputSerializer, **ERRORS})
    def create(self, request):
        data = AppointmentInputSerializer(data=request.data, user=request.user)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        appt = services.appointment_book(
            patient=v["patient"], clinician=v["clinician"], service=v["service"],
            site=v.get("site"), referral=v.get("referral"), starts_at=v["starts_at"],
            duration_minutes=v["duration_minutes"], mode=v["mode"], override=v["override"],
            reason=v["reason"], actor=request.user)
        appt = self.get_queryset().get(pk=appt.pk)
        return Response(AppointmentOutputSerializer(appt).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Record attendance or cancel", request=StatusInputSerializer,
                   responses={200: AppointmentOutputSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        appt = self._visible(pk)
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.appointment_status_set(appointment=appt, status=data.validated_data["status"],
                                        reason=data.validated_data["reason"],
                                        actor=request.user)
        return Response(AppointmentOutputSerializer(self.get_queryset().get(pk=appt.pk)).data)

    @extend_schema(summary="Free slots of a given length", responses={200: SlotSerializer(many=True),
                                                                     400: ErrorSerializer},
                   parameters=[
                       OpenApiParameter("clinician", int), OpenApiParameter("service", str),
                       OpenApiParameter("site", int),
                       OpenApiParameter("from", str, description="YYYY-MM-DD (default today)"),
                       OpenApiParameter("to", str, description="YYYY-MM-DD (default from + 6)"),
                       OpenApiParameter("duration_minutes", int)])
    @action(detail=False, methods=["get"], url_path="slots", filterset_class=None,
            serializer_class=SlotSerializer)
    def slots(self, request):
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        v = query.validated_data
        program = Program.default()
        today = timezone.localdate()
        start = _date_param(request.query_params, "from", today)
        end = _date_param(request.query_params, "to", start + timedelta(days=6))
        if end < start:
            raise InvalidInput("'to' must be on or after 'from'.",
                               {"to": ["Must be on or after 'from'."]})
        if (end - start).days + 1 > MAX_SLOT_DAYS:
            raise InvalidInput(f"Ask for at most {MAX_SLOT_DAYS} days of slots.",
                               {"to": [f"At most {MAX_SLOT_DAYS} days after 'from'."]})
        found = availability.free_slots(
            program=program, start=start, end=end, minutes=v["duration_minutes"],
            now=timezone.now(), clinician=v.get("clinician"), service=v.get("service"),
            site=v.get("site"))
        page = self.paginate_queryset(found)
        return self.get_paginated_response(SlotSerializer(page, many=True).data)

    def paginate_queryset(self, queryset, *args, **kwargs):
        if self.action == "slots":  # no patient data: no audit row
            return super(AuditedReadMixin, self).paginate_queryset(queryset, *args, **kwargs)
        return super().paginate_queryset(queryset, *args, **kwargs)

    # --- visit note ---

    def _visible(self, pk) -> Appointment:
        appt = self.get_queryset().filter(pk=pk).first()
        if appt is None:
            raise NotFound("No such appointment.", {"appointment": [f"No appointment {pk}."]})
        return appt

    def _note_response(self, appt, code=status.HTTP_200_OK):
        note = (VisitNote.objects.prefetch_related("addenda").filter(appointment=appt).first())
        if note is None:
            raise NotFound("This appointment has no note yet.", {"note": ["No note."]})
        return Response(VisitNoteSerializer(note).data, status=code)

    @extend_schema(summary="The visit note", responses={200: VisitNoteSerializer,
                                                        404: ErrorSerializer})
    @action(detail=True, methods=["get"], url_path="note", serializer_class=VisitNoteSerializer)
    def note(self, request, pk=None):
        appt = self._visible(pk)
        audit_record(request=request, actor=request.user, action="read",
                     object_type="appointments.visitnote", object_id=appt.pk,
                     patient_id=appt.patient_id)
        return self._note_response(appt)

    @extend_schema(summary="Write or edit the visit note (author, unsigned)",
                   request=VisitNoteInputSerializer,
                   responses={200: VisitNoteSerializer, **ERRORS})
    @note.mapping.put
    def note_put(self, request, pk=None):
        appt = self._visible(pk)
        data = VisitNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.visit_note_save(appointment=appt, actor=request.user, **data.validated_data)
        return self._note_response(appt)

    @extend_schema(summary="Sign the visit note (author)", request=None,
                   responses={200: VisitNoteSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="note/sign",
            serializer_class=VisitNoteSerializer)
    def note_sign(self, request, pk=None):
        appt = self._visible(pk)
        note = VisitNote.objects.filter(appointment=appt).first()
        if note is None:
            raise NotFound("This appointment has no note yet.", {"note": ["No note."]})
        services.visit_note_sign(note=note, actor=request.user)
        return self._note_response(appt)

    @extend_schema(summary="Add an addendum to a signed note", request=AddendumInputSerializer,
                   responses={201: VisitNoteSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="note/addenda",
            serializer_class=VisitNoteSerializer)
    def note_addendum(self, request, pk=None):
        appt = self._visible(pk)
        note = VisitNote.objects.filter(appointment=appt).first()
        if note is None:
            raise NotFound("This appointment has no note yet.", {"note": ["No note."]})
        data = AddendumInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.visit_note_addendum_add(note=note, text=data.validated_data["text"],
                                         actor=request.user)
        return self._note_response(appt, status.HTTP_201_CREATED)

