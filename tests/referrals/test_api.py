"""The referrals API (docs/product.md §4): create, queue, detail with history, transitions (every
allowed and every refused one), assignment, the service catalogue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ipm.models import AuditEvent
from referrals import transitions as t
from referrals.models import Referral

pytestmark = pytest.mark.django_db

SPEC_ALLOWED = {
    ("new", "triaged"), ("triaged", "scheduled"), ("scheduled", "in_treatment"),
    ("in_treatment", "discharged"),
    ("new", "declined"), ("triaged", "declined"),
    ("new", "cancelled"), ("triaged", "cancelled"), ("scheduled", "cancelled"),
    ("in_treatment", "cancelled"),
}
REFUSED = [(a, b) for a in t.STATES for b in t.STATES if (a, b) not in SPEC_ALLOWED]
REFERRAL_FIELDS = {"id", "patient", "service", "reason", "priority", "status", "assignee",
                   "referred_at", "days_waiting", "sla_breached"}


def test_it_creates_a_referral(api, patient, clinician):
    r = api.post("/api/referrals/", {"patient": patient.pk, "service": "psychology",
                                     "reason": "Low mood with pain", "priority": "urgent"})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert REFERRAL_FIELDS <= set(body)
    assert body["patient"] == patient.pk
    assert body["service"] == "psychology"
    assert (body["status"], body["priority"], body["assignee"]) == ("new", "urgent", None)
    assert (body["days_waiting"], body["sla_breached"]) == (0, False)
    referral = Referral.objects.get(pk=body["id"])
    assert referral.referred_by == clinician


def test_it_defaults_to_routine_priority(api, patient):
    r = api.post("/api/referrals/", {"patient": patient.pk, "service": "yoga", "reason": "x"})
    assert r.status_code == 201
    assert r.json()["priority"] == "routine"


@pytest.mark.parametrize(("change", "field"), [
    ({"service": "reiki"}, "service"),
    ({"patient": 987654}, "patient"),
    ({"reason": ""}, "reason"),
    ({"priority": "whenever"}, "priority"),
])
def test_it_refuses_bad_input_naming_the_field(change, field, api, patient):
    body = {"patient": patient.pk, "service": "physio", "reason": "Pain", **change}
    r = api.post("/api/referrals/", body)
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert r.json()["message"]
    assert not Referral.objects.exists()


@pytest.mark.parametrize(("current", "to"), sorted(SPEC_ALLOWED))
def test_it_applies_each_allowed_transition(current, to, coordinator_api, coordinator,
                                            make_referral, patient):
    referral = make_referral(patient, status=current)
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/transition/",
                             {"to": to, "note": "by phone", "reason": "patient choice"})
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == to
    assert REFERRAL_FIELDS <= set(r.json())
    event = referral.events.last()
    assert (event.from_status, event.to_status, event.actor) == (current, to, coordinator)


@pytest.mark.parametrize(("current", "to"), REFUSED)
def test_it_refuses_each_illegal_transition_with_409(current, to, coordinator_api,
                                                     make_referral, patient):
    referral = make_referral(patient, status=current)
    events = referral.events.count()
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/transition/",
                             {"to": to, "reason": "because"})
    assert r.status_code == 409
    body = r.json()
    for state in t.allowed_from(current):
        assert state in body["message"]
    assert "to" in body["errors"]
    referral.refresh_from_db()
    assert referral.status == current
    assert referral.events.count() == events


@pytest.mark.parametrize("to", ["declined", "cancelled"])
def test_it_answers_400_when_a_reason_is_missing(to, coordinator_api, referral):
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/transition/", {"to": to})
    assert r.status_code == 400
    assert "reason" in r.json()["errors"]
    referral.refresh_from_db()
    assert referral.status == "new"


def test_it_answers_400_for_a_state_that_does_not_exist(coordinator_api, referral):
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/transition/", {"to": "lost"})
    assert r.status_code == 400
    assert "to" in r.json()["errors"]


def test_it_answers_409_when_the_referral_moved_since_the_client_looked(coordinator_api,
                                                                       referral):
    coordinator_api.post(f"/api/referrals/{referral.pk}/transition/", {"to": "triaged"})
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/transition/",
                             {"to": "declined", "reason": "x", "from": "new"})
    assert r.status_code == 409
    assert "from" in r.json()["errors"]


def test_it_answers_404_for_an_unknown_referral(coordinator_api):
    r = coordinator_api.post("/api/referrals/424242/transition/", {"to": "triaged"})
    assert r.status_code == 404
    assert coordinator_api.get("/api/referrals/424242/").status_code == 404


def test_it_shows_a_referral_with_its_history_and_audits_the_read(coordinator_api,
                                                                  coordinator, referral):
    coordinator_api.post(f"/api/referrals/{referral.pk}/transition/",
                         {"to": "triaged", "note": "Physio first"})
    r = coordinator_api.get(f"/api/referrals/{referral.pk}/")
    assert r.status_code == 200
    events = r.json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [("", "new"), ("new", "triaged")]
    assert events[1]["note"] == "Physio first"
    assert events[1]["actor"] == coordinator.pk
    assert AuditEvent.objects.filter(action="read", object_id=str(referral.pk),
                                     actor=coordinator, patient_id=referral.patient_id).exists()


def test_it_assigns_and_unassigns(coordinator_api, coordinator, clinician, referral):
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/assign/", {"assignee": clinician.pk})
    assert r.status_code == 200
    assert r.json()["assignee"] == clinician.pk
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/assign/", {"assignee": None},
                             format="json")
    assert r.status_code == 200
    assert r.json()["assignee"] is None


@pytest.mark.parametrize("assignee", [999999, "abc"])
def test_it_refuses_an_unknown_assignee(assignee, coordinator_api, referral):
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/assign/", {"assignee": assignee})
    assert r.status_code == 400
    assert "assignee" in r.json()["errors"]


def test_it_refuses_an_assignee_without_a_patient_role(coordinator_api, admin_user, referral):
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/assign/", {"assignee": admin_user.pk})
    assert r.status_code == 400
    assert "assignee" in r.json()["errors"]


def test_it_requires_the_assignee_field(coordinator_api, referral):
    r = coordinator_api.post(f"/api/referrals/{referral.pk}/assign/", {})
    assert r.status_code == 400
    assert "assignee" in r.json()["errors"]


# --- The queue ----------------------------------------------------------------------------

@pytest.fixture
def queue(make_referral, make_patient, coordinator):
    a, b, c = make_patient("Ann", "Ash"), make_patient("Ben", "Birch"), make_patient("Cy", "Cedar")
    rows = {
        "old_routine": make_referral(a, "physio", days_ago=20),
        "new_routine": make_referral(b, "yoga", days_ago=1),
        "urgent_recent": make_referral(c, "pain_medicine", priority="urgent", days_ago=1),
        "urgent_old": make_referral(a, "pain_medicine", priority="urgent", days_ago=3),
        "triaged": make_referral(b, "psychology", status="triaged", days_ago=50),
        "closed": make_referral(c, "acupuncture", status="declined", days_ago=90),
    }
    from referrals.services import referral_assign

    referral_assign(referral=rows["triaged"], assignee=coordinator, actor=coordinator)
    return rows


def _ids(response):
    assert response.status_code == 200, response.json()
    return [r["id"] for r in response.json()["results"]]


def test_the_queue_puts_urgent_first_then_longest_waiting(coordinator_api, queue):
    ids = _ids(coordinator_api.get("/api/referrals/?status=new"))
    q = queue
    assert ids == [q["urgent_old"].pk, q["urgent_recent"].pk, q["old_routine"].pk,
                   q["new_routine"].pk]


def test_the_queue_is_paginated(coordinator_api, queue):
    body = coordinator_api.get("/api/referrals/?page_size=2").json()
    assert body["count"] == 6
    assert len(body["results"]) == 2
    assert body["next"] and body["previous"] is None


def test_the_queue_computes_days_waiting_and_the_sla_flag(coordinator_api, queue):
    rows = {r["id"]: r for r in coordinator_api.get("/api/referrals/").json()["results"]}
    q = queue
    # physio: triage within 5 days; 20 days new → breached.
    assert (rows[q["old_routine"].pk]["days_waiting"], rows[q["old_routine"].pk]["sla_breached"]) == (20, True)
    # pain medicine: triage within 2 days; 3 days → breached, 1 day → not.
    assert rows[q["urgent_old"].pk]["sla_breached"] is True
    assert rows[q["urgent_recent"].pk]["sla_breached"] is False
    # psychology triaged, first visit within 42 days; 50 days → breached.
    assert (rows[q["triaged"].pk]["days_waiting"], rows[q["triaged"].pk]["sla_breached"]) == (50, True)
    # declined: never breached, clock stopped at closing (today).
    assert rows[q["closed"].pk]["sla_breached"] is False


@pytest.mark.parametrize(("query", "expected"), [
    ("status=triaged", ["triaged"]),
    ("status=declined", ["closed"]),
    ("status=triaged,declined", ["closed", "triaged"]),
    ("service=pain_medicine", ["urgent_old", "urgent_recent"]),
    ("priority=urgent", ["urgent_old", "urgent_recent"]),
    ("assignee=me", ["triaged"]),
    ("sla_breached=true&status=open", ["urgent_old", "triaged", "old_routine"]),
    ("status=new&ordering=days_waiting", ["urgent_recent", "new_routine", "urgent_old",
                                          "old_routine"]),
    ("status=new&ordering=-days_waiting", ["old_routine", "urgent_old", "new_routine",
                                           "urgent_recent"]),
    ("status=new&ordering=-referred_at", ["urgent_recent", "new_routine", "urgent_old",
                                          "old_routine"]),
    ("status=new&ordering=referred_at", ["old_routine", "urgent_old", "new_routine",
                                         "urgent_recent"]),
    ("status=new&ordering=priority", ["urgent_old", "urgent_recent", "old_routine",
                                      "new_routine"]),
])
def test_the_queue_filters_and_sorts(query, expected, coordinator_api, queue):
    assert _ids(coordinator_api.get(f"/api/referrals/?{query}")) == [queue[k].pk for k in expected]


def test_the_queue_filters_by_assignee_id_and_unassigned(coordinator_api, coordinator, queue):
    assert _ids(coordinator_api.get(f"/api/referrals/?assignee={coordinator.pk}")) == [
        queue["triaged"].pk]
    assert queue["triaged"].pk not in _ids(coordinator_api.get("/api/referrals/?assignee=none"))


@pytest.mark.parametrize("query", ["status=lost", "ordering=name", "priority=soon",
                                   "assignee=someone"])
def test_the_queue_refuses_bad_filters(query, coordinator_api):
    r = coordinator_api.get(f"/api/referrals/?{query}")
    assert r.status_code == 400
    assert query.split("=")[0] in r.json()["errors"]


def test_the_queue_audits_the_page_shown(coordinator_api, coordinator, queue):
    coordinator_api.get("/api/referrals/?status=new")
    row = AuditEvent.objects.filter(action="list", actor=coordinator).latest("id")
    assert sorted(row.detail["patient_ids"]) == sorted(
        {queue[k].patient_id for k in ("old_routine", "new_routine", "urgent_recent")})


@pytest.mark.parametrize("size", [5, 40])
def test_the_queue_runs_a_constant_number_of_queries(size, coordinator_api, make_referral,
                                                     make_patient, django_assert_num_queries):
    for i in range(40):
        make_referral(make_patient(f"P{i}", "Q"), ["physio", "yoga", "psychology"][i % 3],
                      priority="urgent" if i % 4 == 0 else "routine", days_ago=i,
                      status=["new", "triaged"][i % 2])
    coordinator_api.get("/api/referrals/")  # warm the token/user caches equally
    # token+user, roles, count, page, audit row
    with django_assert_num_queries(5):
        r = coordinator_api.get(f"/api/referrals/?page_size={size}")
    assert len(r.json()["results"]) == size


def test_the_detail_runs_a_constant_number_of_queries(coordinator_api, referral, coordinator,
                                                      django_assert_num_queries):
    from referrals.services import referral_transition

    for step in ("triaged", "scheduled", "in_treatment"):
        referral_transition(referral=referral, to=step, actor=coordinator)
    # token+user, roles, referral, events+actors, audit row
    with django_assert_num_queries(5):
        r = coordinator_api.get(f"/api/referrals/{referral.pk}/")
    assert len(r.json()["events"]) == 4


# --- Services ---------------------------------------------------------------------------

def test_it_lists_the_service_catalogue_to_every_role(api, coordinator_api, admin_api):
    for client in (api, coordinator_api, admin_api):
        r = client.get("/api/services/")
        assert r.status_code == 200
        body = r.json()
        assert {"count", "next", "previous", "results"} <= set(body)
        codes = {s["code"] for s in body["results"]}
        assert {"physio", "psychology", "chiropractic", "acupuncture", "yoga", "pain_medicine",
                "behavioural_health", "social_prescribing", "group_programme"} <= codes
        physio = next(s for s in body["results"] if s["code"] == "physio")
        assert {"name", "discipline", "sla_triage_days", "sla_first_visit_days",
                "is_group_based"} <= set(physio)


def test_days_waiting_stops_at_the_first_visit(coordinator_api, make_referral, patient,
                                               coordinator):
    from referrals.services import referral_transition

    referral = make_referral(patient, status="scheduled", days_ago=30)
    referral_transition(referral=referral, to="in_treatment", actor=coordinator,
                        at=timezone.now() - timedelta(days=10))
    body = coordinator_api.get(f"/api/referrals/{referral.pk}/").json()
    assert (body["days_waiting"], body["sla_breached"]) == (20, False)


def test_the_schema_documents_the_referrals_api(coordinator_api):
    r = coordinator_api.get("/api/schema/?format=json")
    assert r.status_code == 200
    schema = r.json()
    for path in ("/api/referrals/", "/api/referrals/{id}/", "/api/referrals/{id}/transition/",
                 "/api/referrals/{id}/assign/", "/api/services/"):
        assert path in schema["paths"], path
    assert "409" in schema["paths"]["/api/referrals/{id}/transition/"]["post"]["responses"]
    props = schema["components"]["schemas"]["ReferralOutput"]["properties"]
    assert "sla_triage_days" in props["sla_breached"]["description"]
    assert "Whole days" in props["days_waiting"]["description"]
