"""Team API (docs/product.md §6), admin only: program settings, sites, staff."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import accounts, roles
from ipm.api import ErrorSerializer
from ipm.parsers import JSONParser
from ipm.roles import HasRole
from patients.models import PHONE_E164, Program, Site, validate_timezone
from patients.program import crisis_message_for

from . import selectors, services
from .filters import StaffFilter

User = get_user_model()


class AdminOnly:
    """Admins' (ipm.roles.PERMISSIONS): each view names its permission. Configuration is
    sent as JSON only: a multipart part that Django files away as an upload would otherwise
    drop a field silently (an invalid time zone was accepted as "not given")."""

    permission_classes = [HasRole]
    permission = "staff.manage"
    parser_classes = [JSONParser]


def _people():
    return User.objects.filter(is_active=True)


# --- Program -----------------------------------------------------------------------------

class ProgramSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    clinical_lead = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True,
                                                       required=False)
    deputy_lead = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True,
                                                     required=False)
    escalation_mode = serializers.ChoiceField(choices=Program.EscalationMode.choices, required=False)
    escalation_hours = serializers.IntegerField(required=False, min_value=1, max_value=72)
    working_hours = serializers.JSONField(
        required=False, help_text='{"mon": ["09:00", "17:00"], ..., "sun": null}')
    holiday_country = serializers.CharField(max_length=2, allow_blank=True, required=False)
    holiday_region = serializers.CharField(max_length=10, allow_blank=True, required=False)
    crisis_message = serializers.CharField(allow_blank=True, required=False,
                                           help_text="Blank: the default for the holiday country.")
    crisis_message_shown = serializers.SerializerMethodField(
        help_text="What a patient is shown (the message, or the country default).")

    def get_crisis_message_shown(self, program) -> str:
        return crisis_message_for(program)


@extend_schema(tags=["team"])
class ProgramApi(AdminOnly, APIView):
    """The program's settings (admin)."""

    permission = "program.configure"

    @extend_schema(responses={200: ProgramSerializer})
    def get(self, request):
        return Response(ProgramSerializer(Program.default()).data)

    @extend_schema(request=ProgramSerializer,
                   responses={200: ProgramSerializer, 400: ErrorSerializer})
    def patch(self, request):
        ser = ProgramSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        program = services.program_update(program=Program.default(), actor=request.user,
                                          **ser.validated_data)
        return Response(ProgramSerializer(program).data)


# --- Sites -------------------------------------------------------------------------------

class SiteSerializer(serializers.ModelSerializer):
    staff_count = serializers.IntegerField(read_only=True)
    patient_count = serializers.IntegerField(read_only=True)
    time_zone = serializers.CharField(max_length=64, required=False,
                                      validators=[validate_timezone],
                                      help_text="IANA time zone; defaults to the program's.")

    class Meta:
        model = Site
        fields = ["id", "name", "code", "time_zone", "staff_count", "patient_count"]
        validators: list = []
        extra_kwargs = {"code": {"validators": []}}


@extend_schema(tags=["team"])
class SiteListCreateApi(AdminOnly, generics.ListCreateAPIView):
    """The program's sites (clinics), with their staff and patient counts (admin)."""

    permission = "site.manage"

    serializer_class = SiteSerializer

    def get_queryset(self):
        return selectors.sites_with_counts()

    @extend_schema(responses={201: SiteSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, *args, **kwargs):
        ser = SiteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        site = services.site_create(program=Program.default(), actor=request.user,
                                    **ser.validated_data)
        return Response(SiteSerializer(selectors.sites_with_counts().get(pk=site.pk)).data,
                        status=status.HTTP_201_CREATED)


# --- Staff -------------------------------------------------------------------------------

class StaffSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=roles.ROLES),
                                  required=False, help_text=f"Any of {', '.join(roles.ROLES)}.")
    sites = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), many=True,
                                               required=False)
    phone = serializers.RegexField(PHONE_E164.regex, allow_blank=True, required=False,
                                   max_length=32, help_text="E.164, e.g. +447700900123.")
    caseload = serializers.IntegerField(read_only=True)
    invited = serializers.BooleanField(read_only=True,
                                       help_text="Invited and has not set a password yet.")

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "roles", "sites",
                  "phone", "is_active", "caseload", "invited", "last_login", "date_joined"]
        read_only_fields = ["id", "last_login", "date_joined"]
        extra_kwargs = {"username": {"validators": []}, "email": {"required": False}}

    def to_representation(self, user):
        return {
            "id": user.pk, "username": user.username, "email": user.email,
            "first_name": user.first_name, "last_name": user.last_name,
            "roles": sorted(g.name for g in user.groups.all() if g.name in roles.ROLES),
            "sites": sorted(s.pk for s in user.sites.all()),
            "phone": getattr(getattr(user, "staff_profile", None), "phone", "") or "",
            "is_active": user.is_active,
            "caseload": getattr(user, "caseload", None),
            "invited": not user.has_usable_password(),
            "last_login": user.last_login, "date_joined": user.date_joined,
        }


class StaffCreateSerializer(StaffSerializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=roles.ROLES),
                                  allow_empty=False, min_length=1)
    email = serializers.EmailField(help_text="Where the invitation (a set-password link) goes.")


@extend_schema(tags=["team"])
class StaffListCreateApi(AdminOnly, generics.ListCreateAPIView):
    """Everyone with a login, active or not (admin). POST adds a person and queues their
    invitation (a single-use set-password link by email); a duplicate username is 409."""

    serializer_class = StaffSerializer
    filterset_class = StaffFilter

    def get_queryset(self):
        return selectors.staff_list()

    @extend_schema(request=StaffCreateSerializer,
                   responses={201: StaffSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request, *args, **kwargs):
        ser = StaffCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        user = services.staff_create(
            actor=request.user, username=data["username"], email=data.get("email", ""),
            first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
            roles_=data["roles"], sites=data.get("sites", []), phone=data.get("phone", ""))
        return Response(StaffSerializer(selectors.staff_list().get(pk=user.pk)).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["team"])
class StaffDetailApi(AdminOnly, generics.RetrieveAPIView):
    """One staff member (admin). PATCH changes details, roles, sites or `is_active`;
    deactivating someone with a caseload is 409 `{"detail": {"caseload": N}}`."""

    serializer_class = StaffSerializer

    def get_queryset(self):
        return selectors.staff_list()

    @extend_schema(request=StaffSerializer,
                   responses={200: StaffSerializer, 400: ErrorSerializer, 409: ErrorSerializer})
    def patch(self, request, *args, **kwargs):
        user = self.get_object()
        ser = StaffSerializer(user, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        data.pop("username", None)
        if "roles" in data:
            data["roles"] = list(data["roles"])
        services.staff_update(user=user, actor=request.user, **data)
        return Response(StaffSerializer(selectors.staff_list().get(pk=user.pk)).data)


@extend_schema(tags=["team"], request=None,
               responses={200: inline_serializer("TwoFactorReset", {
                   "devices_removed": serializers.IntegerField()})})
class StaffTwoFactorResetApi(AdminOnly, generics.GenericAPIView):
    """Remove a person's second factor: they enrol again at their next login (audited)."""

    def get_queryset(self):
        return selectors.staff_list()

    def post(self, request, pk):
        user = self.get_object()
        removed = selectors.second_factor_devices(user)
        accounts.two_factor_reset(user=user, actor=request.user)
        return Response({"devices_removed": removed})


@extend_schema(tags=["team"], request=None, responses={202: inline_serializer(
    "StaffInvite", {"reminder": serializers.IntegerField()})})
class StaffInviteApi(AdminOnly, generics.GenericAPIView):
    """Send the invitation again (a new single-use link)."""

    def get_queryset(self):
        return selectors.staff_list()

    def post(self, request, pk):
        user = self.get_object()
        row = services.staff_invite(user=user, actor=request.user)
        return Response({"reminder": row.pk}, status=status.HTTP_202_ACCEPTED)


class ReassignSerializer(serializers.Serializer):
    to_user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    clinician = serializers.BooleanField(default=True)
    care_manager = serializers.BooleanField(default=True)


@extend_schema(tags=["team"], request=ReassignSerializer, responses={
    200: inline_serializer("CaseloadMoved", {"clinician": serializers.IntegerField(),
                                             "care_manager": serializers.IntegerField()}),
    400: ErrorSerializer})
class StaffReassignApi(AdminOnly, generics.GenericAPIView):
    """Move this person's whole caseload to someone else."""

    def get_queryset(self):
        return selectors.staff_list()

    def post(self, request, pk):
        user = self.get_object()
        ser = ReassignSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return Response(services.caseload_move(from_user=user, actor=request.user,
                                               **ser.validated_data))

