"""Group programmes API (docs/product.md §4): series with sessions and counts, enrol / withdraw with a
waitlist, attendance, session cancellation. Thin: validate, call one service, render."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ipm import roles
from ipm.api import ErrorSerializer
from ipm.validators import validate_care_date
from patients.api import VisiblePatientField
from patients.models import Site
from patients.scoping import sites_of, visible
from referrals.models import Service

from . import selectors, services
from .filters import SeriesFilter
from .models import Attendance, Enrolment, GroupSeries, GroupSession
from .recurrence import MAX_DURATION_MINUTES, PlannedSession

User = get_user_model()

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
          409: ErrorSerializer}


# --- Serializers --------------------------------------------------------------------------

class SessionInputSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(validators=[validate_care_date])
    duration_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES,
                                                default=90)


class SeriesInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    service = serializers.SlugRelatedField(slug_field="code",
                                           queryset=Service.objects.filter(active=True),
                                           help_text="Service code, e.g. group_programme.")
    capacity = serializers.IntegerField(min_value=1, max_value=500)
    lead_clinician = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="User id of the billable lead clinician (must hold the clinician role).")
    facilitators = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), many=True, required=False,
        help_text="User ids of the non-billable facilitators.")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    video_link = serializers.URLField(required=False, allow_blank=True, default="")
    sessions = SessionInputSerializer(many=True, required=False, default=list)
    site = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.none(), required=False, allow_null=True,
        help_text="Site id; defaults to yours when you work at one site.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the sites you work at: another site's id is "does not exist" (400 on `site`).
        request = self.context.get("request")
        self.fields["site"].queryset = sites_of(getattr(request, "user", None))


class SessionOutputSerializer(serializers.ModelSerializer):
    facilitators = serializers.SerializerMethodField()

    class Meta:
        model = GroupSession
        fields = ["id", "starts_at", "duration_minutes", "status", "lead_clinician",
                  "facilitators"]

    def get_facilitators(self, obj) -> list[int]:
        return [u.pk for u in obj.facilitators.all()]


class CountsSerializer(serializers.Serializer):
    enrolled_count = serializers.IntegerField()
    waitlisted_count = serializers.IntegerField()
    available = serializers.IntegerField()


class SeriesOutputSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="code", read_only=True)
    facilitators = serializers.SerializerMethodField()
    sessions = SessionOutputSerializer(many=True, read_only=True)
    enrolled_count = serializers.IntegerField(
        read_only=True, help_text="People holding a place (enrolled or completed).")
    waitlisted_count = serializers.IntegerField(read_only=True)
    available = serializers.SerializerMethodField(help_text="Free places.")
    counts = serializers.SerializerMethodField()

    class Meta:
        model = GroupSeries
        fields = ["id", "name", "service", "site", "capacity", "lead_clinician", "facilitators",
                  "location", "video_link", "completed_at", "created_at", "sessions",
                  "enrolled_count", "waitlisted_count", "available", "counts"]

    def get_facilitators(self, obj) -> list[int]:
        return [u.pk for u in obj.facilitators.all()]

    def get_available(self, obj) -> int:
        return selectors.available_places(obj)

    @extend_schema_field(CountsSerializer)
    def get_counts(self, obj) -> dict:
        return {"enrolled_count": obj.enrolled_count, "waitlisted_count": obj.waitlisted_count,
                "available": selectors.available_places(obj)}


class PatientInputSerializer(serializers.Serializer):
    patient = VisiblePatientField(help_text="Patient id.")


class _EnrolmentBody(serializers.Serializer):
    id = serializers.IntegerField(help_text="Enrolment id.")
    series = serializers.IntegerField(source="series_id")
    patient = serializers.IntegerField(source="patient_id")
    waitlist_position = serializers.IntegerField(
        allow_null=True, help_text="1-based place on the waitlist; null unless waitlisted.")


class EnrolmentOutputSerializer(_EnrolmentBody):
    status = serializers.ChoiceField(choices=[Enrolment.Status.ENROLLED,
                                              Enrolment.Status.WAITLISTED])


class WithdrawOutputSerializer(_EnrolmentBody):
    status = serializers.ChoiceField(choices=[Enrolment.Status.WITHDRAWN])
    promoted = serializers.IntegerField(
        allow_null=True, help_text="Id of the patient promoted from the waitlist, or null.")


# The statuses a person can be marked with (`unresolved` is only the starting state).
ATTENDANCE_MARK_CHOICES = [(s.value, s.label) for s in services.MARKABLE]


class AttendanceInputSerializer(serializers.Serializer):
    patient = VisiblePatientField()
    status = serializers.ChoiceField(choices=ATTENDANCE_MARK_CHOICES)


class AttendanceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attendance
        fields = ["session", "patient", "status", "marked_at", "marked_by"]


# --- Views --------------------------------------------------------------------------------

class _GroupRoles:
    lookup_value_regex = r"\d+"
    permission_classes = [roles.HasRole]
    # By viewset action, as the group pages (ipm.roles.PERMISSIONS).
    permission = {"list": "group.view", "retrieve": "group.view", "create": "group.manage",
                  "enrol": "group.manage", "withdraw": "group.manage",
                  "attendance": "attendance.mark", "cancel": "group.manage"}


@extend_schema_view(
    list=extend_schema(summary="List group series (your sites)",
                       responses={200: SeriesOutputSerializer}),
    retrieve=extend_schema(summary="A group series with its sessions and counts",
                           responses={200: SeriesOutputSerializer, 404: ErrorSerializer}),
)
class GroupSeriesViewSet(_GroupRoles, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    serializer_class = SeriesOutputSerializer
    filterset_class = SeriesFilter

    def get_queryset(self):
        return selectors.series_for_api(self.request.user)

    @extend_schema(summary="Create a group series and its sessions",
                   request=SeriesInputSerializer,
                   responses={201: SeriesOutputSerializer, **ERRORS})
    def create(self, request):
        data = _valid(SeriesInputSerializer, request)
        series = services.series_create(
            name=data["name"], service=data["service"], capacity=data["capacity"],
            lead_clinician=data.get("lead_clinician"), facilitators=data.get("facilitators", []),
            location=data["location"], video_link=data["video_link"], site=data.get("site"),
            sessions=[PlannedSession(s["starts_at"], s["duration_minutes"])
                      for s in data["sessions"]],
            actor=request.user)
        series = self.get_queryset().get(pk=series.pk)
        return Response(SeriesOutputSerializer(series).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Enrol a patient (waitlisted when the series is full)",
                   request=PatientInputSerializer,
                   responses={201: EnrolmentOutputSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def enrol(self, request, pk=None):
        series = self._series(pk)
        data = _valid(PatientInputSerializer, request)
        enrolment = services.enrolment_create(series=series, patient=data["patient"],
                                              actor=request.user)
        return Response(_enrolment_body(enrolment), status=status.HTTP_201_CREATED)

    @extend_schema(summary="Withdraw a patient; the first waitlisted person is promoted",
                   request=PatientInputSerializer,
                   responses={200: WithdrawOutputSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        series = self._series(pk)
        data = _valid(PatientInputSerializer, request)
        enrolment, promoted = services.enrolment_withdraw(series=series, patient=data["patient"],
                                                          actor=request.user)
        return Response({**_enrolment_body(enrolment),
                         "promoted": promoted.patient_id if promoted else None})

    def _series(self, pk) -> GroupSeries:
        # The plain row: the services lock and count it themselves.
        return get_object_or_404(visible(GroupSeries.objects.all(), self.request.user, None), pk=pk)


class GroupSessionViewSet(_GroupRoles, viewsets.GenericViewSet):
    queryset = GroupSession.objects.all()
    serializer_class = SessionOutputSerializer

    def get_queryset(self):
        return visible(GroupSession.objects.all(), self.request.user, "series")

    @extend_schema(summary="Mark a patient's attendance at a session",
                   request=AttendanceInputSerializer,
                   responses={200: AttendanceOutputSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def attendance(self, request, pk=None):
        session = self.get_object()
        data = _valid(AttendanceInputSerializer, request)
        attendance = services.attendance_mark(session=session, patient=data["patient"],
                                              status=data["status"], actor=request.user)
        return Response(AttendanceOutputSerializer(attendance).data)

    @extend_schema(summary="Cancel a session (its pending reminders are cancelled)",
                   request=None, responses={200: SessionOutputSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = services.session_cancel(session=self.get_object(), actor=request.user)
        return Response(SessionOutputSerializer(session).data)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _enrolment_body(enrolment: Enrolment) -> dict:
    return {"id": enrolment.pk, "series": enrolment.series_id, "patient": enrolment.patient_id,
            "status": enrolment.status,
            "waitlist_position": services.waitlist_position(enrolment)}
