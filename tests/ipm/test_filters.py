"""List parameters go through django-filter FilterSets: a value the schema does not allow is
a 400 naming the parameter (it used to be ignored: `?flag=zzz` listed every patient), an
empty value too, and the schema documents every parameter."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_patients(clinician):
    from patients.services import patient_create

    plain = patient_create(actor=clinician, mrn="F-1", given_name="Plain", family_name="Case",
                           birth_date=date(1970, 1, 1))
    flagged = patient_create(actor=clinician, mrn="F-2", given_name="Red", family_name="Flag",
                             birth_date=date(1970, 1, 1))
    flagged.red_flag = True
    flagged.save(update_fields=["red_flag"])
    return plain, flagged


def _errors(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


@pytest.mark.parametrize(("path", "param"), [
    ("/api/patients/?flag=zzz", "flag"),
    ("/api/patients/?flag=", "flag"),
    ("/api/patients/?risk_group=extreme", "risk_group"),
    ("/api/patients/?pathway=", "pathway"),
    ("/api/alerts/?status=zzz", "status"),
    ("/api/reminders/?reason=zzz", "reason"),
    ("/api/reminders/?patient=x", "patient"),
    ("/api/reminders/?patient=0", "patient"),
    ("/api/reminders/?status=", "status"),
    ("/api/referrals/?status=bogus", "status"),
    ("/api/referrals/?status=", "status"),
    ("/api/referrals/?assignee=someone", "assignee"),
    ("/api/referrals/?sla_breached=maybe", "sla_breached"),
    ("/api/referrals/?ordering=sideways", "ordering"),
    ("/api/referrals/?patient=1.5", "patient"),
    ("/api/patients/?page_size=abc", "page_size"),
    ("/api/patients/?page_size=0", "page_size"),
    ("/api/patients/?page_size=500", "page_size"),
    ("/api/patients/?page_size=%C2%B2", "page_size"),
    ("/api/patients/?page=%C2%B2", "page"),
    ("/api/services/?page=", "page"),
    ("/api/metrics/program/?to=", "to"),
    ("/api/metrics/program/?from=&service=", "from"),
])
def test_it_refuses_values_the_schema_does_not_allow(api, admin_api, path, param):
    client = admin_api if path.startswith("/api/metrics/") else api
    assert param in _errors(client.get(path))


def test_it_refuses_an_unknown_instrument_on_a_patients_responses(api, two_patients):
    assert "instrument" in _errors(api.get(f"/api/patients/{two_patients[0].pk}/responses/"
                                           "?instrument=zzz"))


def test_it_filters_by_a_known_value(api, two_patients):
    plain, flagged = two_patients
    ids = [p["id"] for p in api.get("/api/patients/?flag=red_flag").json()["results"]]
    assert ids == [flagged.pk]
    ids = [p["id"] for p in api.get("/api/patients/?q=plain").json()["results"]]
    assert ids == [plain.pk]
    assert api.get("/api/patients/?q=").json()["count"] == 2  # an empty search is everyone
    assert api.get("/api/patients/?page_size=1").json()["count"] == 2
    assert api.get("/api/referrals/?status=open,waiting&sla_breached=false&assignee=me"
                   ).status_code == 200


def test_a_reminder_not_held_back_has_a_null_reason(api, two_patients):
    from reminders.services import reminder_schedule

    reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link", target_id=1,
                      patient=two_patients[0], channel="email", offset="0d",
                      scheduled_for=timezone.now() + timedelta(days=1))
    rows = api.get("/api/reminders/").json()["results"]
    assert rows and all(row["reason"] is None for row in rows)
    schema = api.get("/api/schema/?format=json").json()
    reason = schema["components"]["schemas"]["ReminderOutput"]["properties"]["reason"]
    assert reason.get("nullable") is True or {"type": "null"} in reason.get("oneOf", [])


def test_the_schema_documents_every_filter(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]

    def params(path):
        return {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}

    patients = params("/api/patients/")
    assert set(patients["flag"]["enum"]) >= {"red_flag", "open_safety_alert"}
    assert {"q", "risk_group", "pathway", "page", "page_size"} <= set(patients)
    referrals = params("/api/referrals/")
    assert {"status", "service", "priority", "assignee", "patient", "sla_breached",
            "ordering"} <= set(referrals)
    assert "pattern" in referrals["status"] and referrals["patient"]["type"] == "integer"
    assert set(params("/api/reminders/")) >= {"patient", "status", "kind", "reason"}
    assert params("/api/alerts/")["status"]["enum"] == ["acknowledged", "open"]
