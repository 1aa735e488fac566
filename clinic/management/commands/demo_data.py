"""A small, realistic program for a first look: one user per role, patients at each risk
level with intakes, and whatever each app's demo.populate(ctx) adds. Safe to run twice."""

import random
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from appointments import demo as appointments_demo
from care import demo as care_demo
from clinic.services import intake_record
from ipm import roles
from metrics import demo as metrics_demo
from outcomes import demo as outcomes_demo
from outcomes.models import QuestionnaireResponse
from outcomes.synthetic import answers_at, severity_for
from patients.models import Intake, Patient, Program
from patients.services import patient_create
from referrals import demo as referrals_demo
from reminders import demo as reminders_demo
from team import demo as team_demo
from visits import demo as visits_demo

DEMO_USERS = [
    # username, role, password, first, last
    ("clinician", roles.CLINICIAN, "clinician-demo-pass", "Clara", "Nguyen"),
    ("coordinator", roles.COORDINATOR, "coordinator-demo-pass", "Colin", "Osei"),
    ("admin", roles.ADMIN, "admin-demo-pass", "Adaeze", "Walker"),
]
# Each app's demo.populate(ctx), in this order (later ones use what earlier ones made).
APP_DEMOS = [("referrals", referrals_demo), ("visits", visits_demo),
             ("outcomes", outcomes_demo), ("reminders", reminders_demo),
             ("appointments", appointments_demo), ("care", care_demo),
             ("metrics", metrics_demo), ("team", team_demo)]

NAMES = [("Maya", "Patel"), ("Tom", "Fletcher"), ("Aisha", "Khan"), ("Liam", "O'Brien"),
         ("Sofia", "Rossi"), ("Kwame", "Mensah"), ("Hannah", "Schmidt"), ("Yusuf", "Demir"),
         ("Grace", "Okafor"), ("Ben", "Carter"), ("Chloe", "Martin"), ("Ravi", "Sharma"),
         ("Emma", "Lewis"), ("Jonas", "Berg"), ("Priya", "Iyer"), ("Daniel", "Cohen")]
NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}
STARTBACK = {
    "low": {"q1": 1, "q2": 1, "q3": 0, "q4": 0, "q5": 0, "q6": 0, "q7": 0, "q8": 0, "q9": 1},
    "medium": {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 0, "q7": 0, "q8": 0, "q9": 2},
    "high": {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 1, "q7": 1, "q8": 0, "q9": 3},
}


def _baseline(severity: float, rng: random.Random) -> dict:
    """Intake questionnaires from the patient's one latent severity (outcomes.synthetic),
    so PEG, PHQ-9 and GAD-7 (and PROMIS-29, added by outcomes' demo) agree."""
    phq9 = answers_at("phq9", severity, rng)
    phq9["q9"] = 0  # item 9 stays 0 here; outcomes' demo opens the one alert on purpose
    return {"peg": answers_at("peg", severity, rng), "phq9": phq9,
            "gad7": answers_at("gad7", severity, rng)}


class Command(BaseCommand):
    help = "Load a small demo program with one user per role (prints the logins)."

    def handle(self, *args, **options):
        if settings.IPM_PRODUCTION:
            # The demo users have published passwords: never in a real program.
            raise CommandError("demo_data refuses to run with production settings "
                               "(ipm.settings.production): it creates users with known "
                               "passwords. Nothing was created.")
        roles.ensure_role_groups()
        users = self._users()
        program = Program.default()
        if program.clinical_lead_id is None:
            program.clinical_lead = users[roles.CLINICIAN]
            program.save(update_fields=["clinical_lead"])
        if Patient.objects.exists():
            self.stdout.write("Demo patients already present; left as they are.")
        else:
            with transaction.atomic():
                patients = self._patients(users, program)
                ctx = {"users": users, "patients": patients, "program": program,
                       "severity": self.severity}
                for app, module in APP_DEMOS:
                    module.populate(ctx)
                    self.stdout.write(f"  {app}: demo data loaded")
            self.stdout.write(self.style.SUCCESS(f"Loaded {len(patients)} demo patients."))
        self.stdout.write("\nDemo logins (http://127.0.0.1:8000/accounts/login/):")
        for username, role, password, *_ in DEMO_USERS:
            self.stdout.write(f"  {role:<12} username: {username:<12} password: {password}")
        self.stdout.write("  clinician    username: east_clinician password: east-clinician-demo-pass"
                          "  (East clinic only)")

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        for username, role, password, first, last in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last,
                                             "email": f"{username}@ipm.example"})
            if created:
                user.set_password(password)
                user.is_staff = role == roles.ADMIN
                user.save()
            user.groups.set(Group.objects.filter(name=role))
            if role != roles.ADMIN:
                user.sites.add(Program.default().sites.order_by("pk").first())
            users[role] = user
        return users

    def _patients(self, users, program) -> list:
        rng = random.Random(2026)  # nosec B311 - demo data, not security
        self.severity = {}  # patient pk -> latent severity at intake (0 best, 1 worst)
        clinician = users[roles.CLINICIAN]
        risks = ["low"] * 5 + ["medium"] * 6 + ["high"] * 4 + ["red"]
        patients = []
        today = timezone.localdate()
        for i, ((given, family), risk) in enumerate(zip(NAMES, risks, strict=True)):
            channel = "sms" if i % 3 == 0 else "email"
            patient = patient_create(
                actor=clinician, program=program, clinician=clinician,
                mrn=f"IPM{1000 + i}", given_name=given, family_name=family,
                birth_date=date(1950 + (i * 3) % 45, 1 + i % 12, 1 + (i * 7) % 28),
                sex="female" if i % 2 == 0 else "male",
                email=f"{given.lower()}.{family.lower().replace(chr(39), '')}@example.org",
                phone=f"+4477009001{i:02d}", preferred_channel=channel,
                consent_to_contact=i != 7, timezone=program.time_zone)
            weeks_ago = rng.choice([2, 8, 14, 20, 30, 40, 54])
            flags = NO_FLAGS | ({"cauda_equina": True} if risk == "red" else {})
            sb = STARTBACK["low" if risk == "red" else risk]
            severity = severity_for("low" if risk == "red" else risk, rng)
            self.severity[patient.pk] = severity
            intake = intake_record(
                patient=patient, red_flags=flags, startback=sb,
                baseline=_baseline(severity, rng),
                mme=rng.choice([0, 0, 0, 15, 30, 60, 95]), actor=clinician)
            # Backdate the intake so follow-ups, wait times and trends have a history.
            when = timezone.now() - timedelta(weeks=weeks_ago)
            Intake.objects.filter(pk=intake.pk).update(created_at=when)
            QuestionnaireResponse.objects.filter(patient=patient).update(answered_at=when)
            patient.intake_date = today - timedelta(weeks=weeks_ago)
            patient.created_at = when
            patient.save(update_fields=["intake_date", "created_at"])
            patients.append(patient)
        return patients
