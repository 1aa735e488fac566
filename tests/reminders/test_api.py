"""GET /api/reminders/?patient=&status=&kind= (docs/product.md §4) and POST /api/reminders/{id}/resend/:
clinicians and coordinators; admins 403; paginated; audited; constant query count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ipm.models import AuditEvent
from reminders.models import Reminder
from reminders.services import reminder_schedule

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind

FIELDS = {"id", "key", "kind", "patient", "channel", "scheduled_for", "status", "reason",
          "attempts", "last_error", "provider_message_id", "sent_at"}


def rows_for(patient, n, status=S.PENDING, kind=K.GROUP_SESSION, **update):
    out = []
    for i in range(n):
        r = reminder_schedule(kind=kind, target_type="x", target_id=i, patient=patient,
                              offset=f"{status}-{i}",
                              scheduled_for=timezone.now() + timedelta(minutes=i))
        out.append(r)
    Reminder.objects.filter(pk__in=[r.pk for r in out]).update(status=status, **update)
    return out


def test_it_lists_outbox_rows_with_the_spec_fields(coordinator_api, patient):
    [row] = rows_for(patient, 1, status=S.FAILED, reason=R.PROVIDER_ERROR,
                     last_error="SMS provider answered HTTP 500", attempts=5)
    r = coordinator_api.get("/api/reminders/")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    [item] = body["results"]
    assert set(item) == FIELDS
    assert item["id"] == row.pk and item["patient"] == patient.pk
    assert (item["status"], item["reason"], item["attempts"]) == ("failed", "provider_error", 5)
    assert item["last_error"] == "SMS provider answered HTTP 500"


def test_it_filters_by_patient_status_and_kind(api, make_patient):
    a, b = make_patient(), make_patient()
    rows_for(a, 2, status=S.SENT)
    failed = rows_for(a, 1, status=S.FAILED)
    rows_for(b, 3, status=S.FAILED, kind=K.QUESTIONNAIRE_DUE)
    got = api.get(f"/api/reminders/?patient={a.pk}&status=failed").json()
    assert [x["id"] for x in got["results"]] == [failed[0].pk]
    got = api.get("/api/reminders/?kind=questionnaire_due").json()
    assert got["count"] == 3 and {x["patient"] for x in got["results"]} == {b.pk}
    got = api.get(f"/api/reminders/?patient={b.pk}&kind=group_session").json()
    assert got["count"] == 0


def test_it_refuses_unknown_filter_values_with_400(api):
    r = api.get("/api/reminders/?status=lost")
    assert r.status_code == 400
    assert "status" in r.json()["errors"]


def test_it_paginates(api, patient):
    rows_for(patient, 30)
    body = api.get("/api/reminders/?page_size=10").json()
    assert body["count"] == 30 and len(body["results"]) == 10 and body["next"]


def test_it_audits_the_patients_listed(api, make_patient):
    a, b = make_patient(), make_patient()
    rows_for(a, 1)
    rows_for(b, 1)
    api.get("/api/reminders/")
    event = AuditEvent.objects.filter(action="list", object_type="reminders.reminder").latest("at")
    assert event.detail["patient_ids"] == sorted([a.pk, b.pk])


def token_client(user):
    from tests.conftest import api_client_for

    return api_client_for(user)


@pytest.mark.parametrize("who", ["admin_user", "nobody"])
def test_it_forbids_users_without_a_patient_role(request, patient, who):
    [row] = rows_for(patient, 1, status=S.FAILED)
    client = token_client(request.getfixturevalue(who))
    r = client.get("/api/reminders/")
    assert r.status_code == 403 and "message" in r.json()
    assert client.post(f"/api/reminders/{row.pk}/resend/").status_code == 403
    row.refresh_from_db()
    assert row.status == S.FAILED


def test_it_answers_401_without_credentials(client):
    assert client.get("/api/reminders/").status_code == 401


def test_it_lists_in_a_constant_number_of_queries(api, make_patient,
                                                  django_assert_max_num_queries):
    for _ in range(3):
        rows_for(make_patient(), 2)
    with django_assert_max_num_queries(12) as small:
        api.get("/api/reminders/?page_size=2")
    with django_assert_max_num_queries(12) as big:
        api.get("/api/reminders/?page_size=6")
    assert len(small.captured_queries) == len(big.captured_queries)


def test_it_resends_a_failed_row(coordinator_api, patient):
    [row] = rows_for(patient, 1, status=S.FAILED, reason=R.NO_ADDRESS)
    r = coordinator_api.post(f"/api/reminders/{row.pk}/resend/")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["reason"], r.json()["attempts"]) == ("pending", None, 0)  # null, as the schema says


def test_it_answers_409_when_resending_a_sent_row(coordinator_api, patient):
    [row] = rows_for(patient, 1, status=S.SENT)
    r = coordinator_api.post(f"/api/reminders/{row.pk}/resend/")
    assert r.status_code == 409
    assert "failed or cancelled" in r.json()["message"]


def test_it_answers_404_for_an_unknown_row(coordinator_api):
    assert coordinator_api.post("/api/reminders/999999/resend/").status_code == 404


def test_it_documents_the_endpoints_in_the_schema(api):
    r = api.get("/api/schema/?format=json")
    paths = r.json()["paths"]
    assert "/api/reminders/" in paths
    params = {p["name"] for p in paths["/api/reminders/"]["get"]["parameters"]}
    assert {"patient", "status", "kind"} <= params
    assert "/api/reminders/{id}/resend/" in paths
