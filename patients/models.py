import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone as dj_tz

from ipm.validators import EARLIEST_BIRTH_DATE, validate_birth_date

from .flags import MME_FLAG_THRESHOLDS

PHONE_E164 = RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter the phone number in E.164 form, e.g. +447700900123.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known time zone (e.g. Europe/London).")


def default_working_hours() -> dict:
    """Monday to Friday 09:00-17:00, weekends closed (docs/product.md: working hours)."""
    day = ["09:00", "17:00"]
    return {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": None, "sun": None}


class Program(models.Model):
    """A pain program: MRNs are unique per program. Its settings drive every "working hours"
    rule (safety-alert escalation, acknowledgement metrics) and what a patient is told after a
    positive self-harm answer."""

    class EscalationMode(models.TextChoices):
        WORKING_HOURS = "working_hours", "During working hours"
        ALWAYS = "24_7", "Every hour, day and night (24/7)"

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    clinical_lead = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    deputy_lead = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    time_zone = models.CharField(max_length=64, default="Europe/London",
                                 validators=[validate_timezone])
    # {"mon": ["09:00", "17:00"], ..., "sun": null}
    working_hours = models.JSONField(default=default_working_hours)
    holiday_country = models.CharField(max_length=2, blank=True, default="GB",
                                       help_text="ISO 3166 country code of the public-holiday calendar.")
    holiday_region = models.CharField(max_length=10, blank=True,
                                      help_text="Subdivision code, e.g. ENG, SCT, CA, NY.")
    escalation_mode = models.CharField(max_length=16, choices=EscalationMode.choices,
                                       default=EscalationMode.WORKING_HOURS)
    escalation_hours = models.PositiveSmallIntegerField(
        default=4, help_text="Hours (working hours, or clock hours in 24/7 mode) before an "
                             "unacknowledged safety alert escalates.")
    # Blank means the default for the holiday country (see patients.program).
    crisis_message = models.TextField(blank=True)

    def __str__(self):
        return self.name

    @classmethod
    def default(cls) -> "Program":
        program = cls.objects.order_by("pk").first()
        if program is None:
            program = cls.objects.create(name="Integrated Pain Management", slug="ipm",
                                         time_zone=settings.TIME_ZONE)
        if not program.sites.exists():
            Site.objects.create(program=program, name="Main site", code="main",
                                time_zone=program.time_zone)
        return program


class Site(models.Model):
    """A clinic of the program. Patients, group series and appointments belong to one site;
    staff belong to one or more, and see only their sites' patients."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=50)
    time_zone = models.CharField(max_length=64, default="Europe/London",
                                 validators=[validate_timezone])
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sites")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="site_code_unique_per_program"),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def default_pk(cls) -> int:
        """The program's first site: while a program has one site everything defaults to it."""
        return Program.default().sites.order_by("pk").values_list("pk", flat=True)[0]


class RiskGroup(models.TextChoices):
    LOW = "low", "Low risk"
    MEDIUM = "medium", "Medium risk"
    HIGH = "high", "High risk"


class Pathway(models.TextChoices):
    SELF_MANAGEMENT = "self_management", "Supported self-management"
    PHYSIOTHERAPY = "physiotherapy", "Physiotherapy"
    PSYCHOLOGICALLY_INFORMED_PHYSIO = ("psychologically_informed_physio",
                                       "Psychologically informed physiotherapy + pain psychology")
    URGENT_MEDICAL_REVIEW = "urgent_medical_review", "Urgent medical review (red flags)"


class PatientQuerySet(models.QuerySet):
    # A search's branches (patients/search.py) count its matches without the page's joins;
    # any further filter drops the shortcut, so the count cannot go stale.
    _counter = None

    def counted_by(self, counter) -> "PatientQuerySet":
        clone = self._chain()
        clone._counter = counter
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._counter = self._counter
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        clone = super()._filter_or_exclude(negate, args, kwargs)
        clone._counter = None
        return clone

    def capped_count(self, limit: int) -> int:
        """How many rows, counting at most ``limit`` (ipm.pagination.CappedPaginator)."""
        if self._counter is not None and self._result_cache is None:
            return self._counter.count(self.db, limit)
        return self.order_by().values("pk")[:limit].count()

    def visible_to(self, user) -> "PatientQuerySet":
        """The patients of the sites ``user`` works at: every read of patient rows for a person
        goes through this, so staff of site A never see a site-B patient."""
        if getattr(user, "is_superuser", False):
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(site_id__in=Site.staff.through.objects.filter(user_id=user.pk)
                           .values("site_id"))


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        NONE = "none", "None"

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="patients")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients",
                             default=Site.default_pk)
    mrn = models.CharField("MRN", max_length=64)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField(validators=[validate_birth_date])
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[PHONE_E164])
    preferred_channel = models.CharField(max_length=5, choices=Channel.choices,
                                         default=Channel.EMAIL)
    consent_to_contact = models.BooleanField(default=False)
    consent_revoked_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London",
                                validators=[validate_timezone])
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="patients",
                                  help_text="The responsible clinician: receives alerts.")
    care_manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="managed_patients",
                                     help_text="A coordinator or clinician who manages care.")
    # Stepped care (1 supported self-management, 2 care management, 3 specialist care).
    step = models.PositiveSmallIntegerField(default=1)
    # Current state, kept up to date by the services that change it (denormalised for
    # list filters at scale).
    intake_date = models.DateField(null=True, blank=True)
    risk_group = models.CharField(max_length=10, choices=RiskGroup.choices, blank=True)
    pathway = models.CharField(max_length=40, choices=Pathway.choices, blank=True)
    red_flag = models.BooleanField(default=False)
    not_improving = models.BooleanField(default=False)
    responder = models.BooleanField(default=False)
    baseline_mme = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    current_mme = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["program", "mrn"], name="patient_mrn_unique_per_program"),
            models.CheckConstraint(condition=models.Q(step__gte=1, step__lte=3),
                                   name="patient_step_1_to_3"),
            # The fixed bound of validate_birth_date ("not in the future" moves: not here).
            models.CheckConstraint(condition=models.Q(birth_date__gte=EARLIEST_BIRTH_DATE),
                                   name="patient_birth_date_plausible"),
        ]
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="patient_name"),
            models.Index(fields=["risk_group"], name="patient_risk"),
            models.Index(fields=["pathway"], name="patient_pathway"),
            # The worklist walks patients by intake date (follow-ups are due from it).
            models.Index(fields=["intake_date", "id"], name="patient_intake_date"),
        ]

    def __str__(self):
        return f"{self.given_name} {self.family_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def stopped_reminders(self) -> bool:
        return self.consent_revoked_at is not None and not self.consent_to_contact

    @property
    def flags(self) -> list[str]:
        """Machine-readable flags shown on the patient page and returned by the API."""
        out = []
        if self.red_flag:
            out.append("red_flag")
        if self.not_improving:
            out.append("not_improving")
        if self.responder:
            out.append("responder")
        if self.current_mme is not None:
            out += [flag for flag, level in MME_FLAG_THRESHOLDS if self.current_mme >= level]
        if self.stopped_reminders:
            out.append("stopped_reminders")
        if getattr(self, "has_open_alert", False):
            out.append("open_safety_alert")
        return out


class Intake(models.Model):
    """One intake assessment: red-flag screen, STarT Back result, baseline MME, and the
    pathway suggested by the rules. Baseline questionnaires are QuestionnaireResponses
    with context "intake"."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="intakes")
    red_flags = models.JSONField()
    startback_total = models.PositiveSmallIntegerField()
    startback_psychosocial = models.PositiveSmallIntegerField()
    risk_group = models.CharField(max_length=10, choices=RiskGroup.choices)
    suggested_pathway = models.CharField(max_length=40, choices=Pathway.choices)
    suggested_referrals = models.JSONField(default=list)
    mme = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        ordering = ["-created_at"]
        # The program metrics read a period's intakes, and each patient's first and latest.
        indexes = [models.Index(fields=["created_at"], name="intake_created_at"),
                   models.Index(fields=["patient", "created_at"], name="intake_patient_created")]

    def __str__(self):
        return f"Intake {self.pk} for patient {self.patient_id}"


class PathwayDecision(models.Model):
    """The clinician's confirmation or override of the suggested pathway (history kept)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="pathway_decisions")
    intake = models.ForeignKey(Intake, null=True, blank=True, on_delete=models.SET_NULL)
    suggested = models.CharField(max_length=40, choices=Pathway.choices, blank=True)
    pathway = models.CharField(max_length=40, choices=Pathway.choices)
    overridden = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(overridden=False) | ~models.Q(reason=""),
                name="pathway_override_needs_reason",
            ),
        ]
