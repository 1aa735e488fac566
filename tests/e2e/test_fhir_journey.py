"""A referral sent in by FHIR (SPEC §10), end to end in a real browser: a primary-care
system posts a ServiceRequest; the coordinator finds it in the triage queue with its source
and works it to discharge; the clinician downloads the discharge letter from the patient
page, and a PDF reader (pdftoppm) renders it."""

import shutil
import subprocess

import pytest
import requests
from playwright.sync_api import expect

from ipm import roles
from referrals.models import Referral
from tests.conftest import make_user, token_for

MRN_SYSTEM = "https://ipm.example/fhir/sid/mrn/ipm"


@pytest.fixture
def services(transactional_db):
    from referrals import catalogue
    from referrals.models import Service

    if not Service.objects.exists():  # a transactional test before this one flushed it
        catalogue.seed(Service)


def send_referral(base_url: str, token: str) -> requests.Response:
    body = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "GP-REF-1001"}],
        "status": "active", "intent": "order", "priority": "routine",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91251008",
                             "display": "Physical therapy procedure"},
                            {"system": "urn:ipm:service", "code": "physio"}]},
        "subject": {"reference": "#pat"},
        "contained": [{"resourceType": "Patient", "id": "pat",
                       "identifier": [{"system": MRN_SYSTEM, "value": "GP-5512"}],
                       "name": [{"family": "Quinlan", "given": ["Rosa"]}],
                       "gender": "female", "birthDate": "1959-11-23"}],
        "requester": {"display": "Dr Amir Shah, Northgate Surgery"},
        "reasonCode": [{"text": "Chronic neck and shoulder pain, 8 months"}],
    }
    with requests.Session() as http:
        return http.post(f"{base_url}/fhir/ServiceRequest", json=body,
                         headers={"Authorization": f"Token {token}",
                                  "Content-Type": "application/fhir+json"})


def test_a_referral_sent_by_fhir_reaches_the_queue_and_its_letter_downloads(
        page, login_as, screenshot, live_server, services, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.fail("poppler-utils (pdftoppm) is needed: .ci/run installs it")
    gp_system = make_user("northgate-gp", roles.INTEGRATION)
    coordinator = make_user("cora", roles.COORDINATOR)
    clinician = make_user("dr_cleo", roles.CLINICIAN)

    sent = send_referral(live_server.url, token_for(gp_system))
    assert sent.status_code == 201, sent.text
    referral = Referral.objects.get(source_identifier="GP-REF-1001")

    # The coordinator sees it in the queue, with where it came from, and works it.
    login_as(coordinator)
    page.goto("/referrals/")
    row = page.locator(f"#referral-{referral.pk}")
    expect(row).to_contain_text("Rosa Quinlan")
    expect(row.locator(".referral-source")).to_have_text("From Dr Amir Shah, Northgate Surgery")
    expect(row).to_contain_text("Physiotherapy")
    screenshot("fhir_referral_in_queue")
    row.get_by_role("button", name="Triage", exact=True).click()
    expect(row.locator(".badge", has_text="Triaged")).to_be_visible()
    row.get_by_role("button", name="Schedule", exact=True).click()
    expect(row.locator(".badge", has_text="Scheduled")).to_be_visible()
    row.get_by_role("button", name="First visit held", exact=True).click()
    expect(row.locator(".badge", has_text="In treatment")).to_be_visible()
    row.get_by_role("button", name="Discharge", exact=True).click()
    expect(row.locator(".badge", has_text="Discharged")).to_be_visible()
    referral.refresh_from_db()
    assert referral.status == "discharged"

    # The clinician downloads the discharge letter from the patient page.
    page.context.clear_cookies()
    login_as(clinician)
    page.goto(f"/patients/{referral.patient_id}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Discharge letter (PDF)").click()
    download = download_info.value
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    assert list(tmp_path.glob("page*.png"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    flat = " ".join(text.split())
    assert "Discharge summary" in flat and "Rosa Quinlan" in flat
    assert "Dr Amir Shah, Northgate Surgery" in flat  # addressed to the referrer
    assert "Physiotherapy" in flat and "Discharged" in flat
