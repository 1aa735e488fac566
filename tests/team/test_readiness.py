"""Readiness (docs/product.md §6): the setup page lists what makes the program unsafe or silent, and a
banner shows on every staff page while anything remains."""

import pytest
from django.test import Client, override_settings

from patients.models import Program, Site
from team.models import StaffProfile
from team.readiness import readiness_count, readiness_problems
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SMS = {"SMS_BACKEND": "reminders.sms.HttpBackend", "SMS_HTTP_URL": "https://sms.example.org/send"}


def codes():
    return {p.code for p in readiness_problems()}


def test_a_fresh_program_is_unsafe_and_silent(clinician):
    assert codes() >= {"no_clinical_lead", "clinician_unreachable", "no_sms_provider"}
    assert readiness_count() == len(readiness_problems())


@override_settings(**SMS)
def test_it_is_ready_once_each_problem_is_fixed(clinician, admin_user):
    program = Program.default()
    clinician.email = "casey@example.org"
    clinician.save()
    StaffProfile.objects.create(user=clinician, phone="+447700900123")
    program.clinical_lead = clinician
    program.save()
    assert codes() == set() and readiness_count() == 0
    Site.objects.create(program=program, name="Empty", code="empty")
    program.working_hours = {d: None for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    program.save()
    assert codes() == {"site_without_staff", "no_working_hours"}
    assert readiness_count() == 2


def test_it_shows_the_banner_on_staff_pages_and_the_checklist_to_admins(clinician, admin_user):
    c = Client()
    c.force_login(clinician)
    page = c.get("/patients/").content.decode()
    assert 'id="readiness-banner"' in page and "Tell your program administrator" in page
    a = Client()
    a.force_login(admin_user)
    assert 'href="/team/"' in a.get("/metrics/").content.decode()
    setup = a.get("/team/").content.decode()
    assert 'data-code="no_clinical_lead"' in setup
    assert c.get("/team/").status_code == 403


def test_the_banner_costs_one_query(clinician, django_assert_num_queries):
    with django_assert_num_queries(1):
        readiness_count()


def test_it_counts_patients_without_a_clinician(clinician, coordinator):
    from patients.services import patient_create

    patient_create(actor=None, mrn="AUTO-1", given_name="A", family_name="B",
                   birth_date="1970-01-01")
    assert "patients_without_clinician" in codes()
    make_user("x")  # a person without roles changes nothing
    assert readiness_count() == len(readiness_problems())
