"""Letters to the referring clinician (SPEC §10): intake and discharge summaries as PDF,
from the API, the patient page and FHIR (DocumentReference + Binary); a PDF reader opens
them (pdftoppm renders the pages) and the text says what the letter must say."""

import base64
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.services import intake_record
from ipm.models import AuditEvent
from outcomes.services import response_create
from patients.services import patient_create
from referrals.models import Service
from referrals.services import referral_create, referral_transition

from .conftest import fhir_json

pytestmark = pytest.mark.django_db
NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}


def pdf_text(tmp_path, pdf: bytes) -> str:
    """The PDF as a reader sees it: pdftoppm must render page 1, pdftotext gives the text."""
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True, timeout=60)
    pages = list(tmp_path.glob("page*.png"))
    assert pages and pages[0].stat().st_size > 1000
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout


@pytest.fixture(autouse=True)
def _poppler():
    if not shutil.which("pdftoppm"):
        pytest.fail("poppler-utils (pdftoppm, pdftotext) is needed: apt-get install "
                    "poppler-utils (.ci/run installs it)")


@pytest.fixture
def treated(clinician, coordinator):
    """High risk at intake, PEG 8 → 4 at 12 weeks (improved by >= 30 %), physio discharged."""
    start = timezone.now() - timedelta(weeks=13)
    p = patient_create(actor=clinician, mrn="L-1", given_name="Lena", family_name="Marsh",
                       birth_date="1968-02-03", email="lena@example.org")
    intake_record(patient=p, red_flags=NO_FLAGS,
                  startback={f"q{i}": 1 for i in range(1, 9)} | {"q9": 4},
                  baseline={"peg": {"q1": 8, "q2": 8, "q3": 8}}, mme=40, actor=clinician)
    response_create(patient=p, instrument="peg", answers={"q1": 4, "q2": 4, "q3": 4},
                    actor=clinician, answered_at=timezone.now())
    physio = Service.objects.get(code="physio")
    ref = referral_create(patient=p, service=physio, reason="Back pain", actor=clinician,
                          referred_at=start)
    for to in ("triaged", "scheduled", "in_treatment", "discharged"):
        referral_transition(referral=ref, to=to, actor=coordinator, note="done")
    p.refresh_from_db()
    return p


def test_it_downloads_the_discharge_letter_as_a_pdf(api, tmp_path, treated):
    r = api.get(f"/api/patients/{treated.pk}/letters/discharge/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert "discharge-summary" in r["Content-Disposition"]
    text = pdf_text(tmp_path, r.content)
    flat = " ".join(text.split())
    assert "Discharge summary" in flat
    assert "Lena Marsh" in flat and "L-1" in flat
    assert "High risk" in flat  # risk group
    assert treated.get_pathway_display().split(" ")[0] in flat  # pathway
    assert "Physiotherapy" in flat and "Discharged" in flat  # services
    assert "PEG" in flat and "Improved (at least the MCID)" in flat  # MCID verdict
    assert AuditEvent.objects.filter(action="read", patient_id=treated.pk,
                                     detail__letter="discharge").exists()


def test_it_writes_the_intake_letter(api, tmp_path, treated):
    r = api.get(f"/api/patients/{treated.pk}/letters/intake/")
    flat = " ".join(pdf_text(tmp_path, r.content).split())
    assert "Intake summary" in flat and "Thank you for referring" in flat


def test_it_draws_the_chart_inline(treated):
    from fhir_api import letters

    html = letters.render_html(treated, "discharge")
    assert "<svg" in html and "<polyline" in html


def test_it_refuses_unknown_letters_and_other_roles(api, admin_api, treated):
    assert api.get(f"/api/patients/{treated.pk}/letters/referral/").status_code == 404
    assert api.get("/api/patients/999999/letters/intake/").status_code == 404
    assert admin_api.get(f"/api/patients/{treated.pk}/letters/intake/").status_code == 403


def test_the_patient_page_offers_the_letters(client, clinician, treated):
    client.force_login(clinician)
    page = client.get(f"/patients/{treated.pk}/").content.decode()
    assert f"/api/patients/{treated.pk}/letters/discharge/" in page
    assert f"/api/patients/{treated.pk}/letters/intake/" in page


def test_fhir_serves_the_letters_as_document_reference_and_binary(api, tmp_path, treated):
    bundle = fhir_json(api.get(f"/fhir/DocumentReference?patient={treated.pk}"
                               "&type=http://loinc.org|18842-5"))
    (doc,) = [e["resource"] for e in bundle["entry"]]
    assert doc["docStatus"] == "final"  # no referral is open
    attachment = doc["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    binary = fhir_json(api.get(f"/fhir/{attachment['url']}"))
    assert "Discharge summary" in pdf_text(tmp_path, base64.b64decode(binary["data"]))
    raw = api.get(f"/fhir/{attachment['url']}", HTTP_ACCEPT="application/pdf")
    assert raw["Content-Type"] == "application/pdf" and raw.content.startswith(b"%PDF-")
    fhir_json(api.get("/fhir/Binary/999999-intake", HTTP_ACCEPT="application/pdf"), 404)
