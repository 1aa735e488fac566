"""Sites: where a new patient goes, and who may see it (docs/product.md: sites)."""

from datetime import date

import pytest

from ipm import roles
from ipm.errors import InvalidInput
from patients.models import Patient, Program, Site
from patients.services import patient_create
from tests.conftest import make_user

DETAILS = dict(given_name="Ada", family_name="Lane", birth_date=date(1970, 1, 2))


@pytest.fixture
def two_sites(db):
    program = Program.default()
    main = program.sites.get(code="main")
    north = Site.objects.create(program=program, name="North clinic", code="north")
    return main, north


def test_it_puts_a_patient_on_the_only_site(clinician):
    patient = patient_create(actor=clinician, mrn="S-1", **DETAILS)
    assert patient.site.code == "main"


def test_it_puts_a_patient_on_the_creators_one_site(two_sites):
    main, north = two_sites
    nora = make_user("nora", roles.CLINICIAN)
    nora.sites.set([north])
    assert patient_create(actor=nora, mrn="S-2", **DETAILS).site == north


def test_it_asks_for_a_site_when_it_cannot_tell(two_sites):
    main, north = two_sites
    both = make_user("both", roles.CLINICIAN)
    both.sites.set([main, north])
    with pytest.raises(InvalidInput) as exc:
        patient_create(actor=both, mrn="S-3", **DETAILS)
    assert "site" in exc.value.errors
    assert not Patient.objects.filter(mrn="S-3").exists()


def test_it_shows_staff_only_their_sites_patients(two_sites):
    main, north = two_sites
    casey = make_user("casey2", roles.CLINICIAN)          # main only
    nora = make_user("nora2", roles.CLINICIAN)
    nora.sites.set([north])
    here = patient_create(actor=casey, mrn="S-4", **DETAILS)
    there = patient_create(actor=nora, mrn="S-5", site=north, **DETAILS)
    assert list(Patient.objects.visible_to(casey)) == [here]
    assert list(Patient.objects.visible_to(nora)) == [there]
    siteless = make_user("siteless", roles.CLINICIAN)
    siteless.sites.clear()
    assert not Patient.objects.visible_to(siteless).exists()


def test_it_keeps_the_step_between_one_and_three(clinician):
    from django.db import IntegrityError, transaction

    patient = patient_create(actor=clinician, mrn="S-6", **DETAILS)
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(step=4)
