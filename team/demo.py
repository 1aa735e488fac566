"""Demo team (manage.py demo_data): a second site, East clinic, with its own clinician;
a third of the demo patients move there (the demo clinician and coordinator work at both
sites, so they still see all their patients; the East clinician sees only East's), a
deputy lead, and phones for the clinicians so the readiness checklist is short."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from ipm import roles
from patients.models import Site
from patients.services import patient_update

from .models import StaffProfile

EAST_CLINICIAN = ("east_clinician", "east-clinician-demo-pass", "Evan", "Brooks")


def populate(ctx: dict) -> None:
    program, users, patients = ctx["program"], ctx["users"], ctx["patients"]
    main = program.sites.order_by("pk").first()
    east, _ = Site.objects.get_or_create(program=program, code="east",
                                         defaults={"name": "East clinic",
                                                   "time_zone": program.time_zone})
    User = get_user_model()
    username, password, first, last = EAST_CLINICIAN
    evan, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last,
                                     "email": f"{username}@ipm.example"})
    if created:
        evan.set_password(password)
        evan.save()
    evan.groups.set(Group.objects.filter(name=roles.CLINICIAN))
    evan.sites.set([east])
    for person in (users[roles.CLINICIAN], users[roles.COORDINATOR]):
        person.sites.add(main, east)
    for i, person in enumerate((users[roles.CLINICIAN], evan)):
        StaffProfile.objects.update_or_create(user=person,
                                              defaults={"phone": f"+4477009009{i:02d}"})
    if program.deputy_lead_id is None:
        program.deputy_lead = evan
        program.save(update_fields=["deputy_lead"])
    for patient in patients[2::3]:
        patient_update(patient=patient, actor=users[roles.CLINICIAN], site=east,
                       clinician=evan, care_manager=users[roles.COORDINATOR])
