import pytest
from django.core.management import call_command
from django.test import Client

from patients.models import Patient, Site

pytestmark = pytest.mark.django_db


def test_the_demo_shows_two_sites_and_each_person_sees_their_patients():
    call_command("demo_data", stdout=open("/dev/null", "w"))
    assert list(Site.objects.values_list("code", flat=True)) == ["main", "east"]
    east = Patient.objects.filter(site__code="east")
    assert east.exists() and Patient.objects.filter(site__code="main").exists()
    clinician = Client()
    clinician.login(username="clinician", password="clinician-demo-pass")
    page = clinician.get("/patients/?page_size=100").content.decode()
    assert all(p.family_name.replace("'", "&#x27;") in page for p in Patient.objects.all())
    evan = Client()
    evan.login(username="east_clinician", password="east-clinician-demo-pass")
    page = evan.get("/patients/?page_size=100").content.decode()
    main_only = Patient.objects.filter(site__code="main").first()
    assert east.first().family_name in page and main_only.mrn not in page
