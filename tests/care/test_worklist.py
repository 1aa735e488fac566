"""The care-manager worklist: consider stepping up, contacts due, three unanswered in a row."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from care import selectors, services
from ipm.models import AuditEvent

pytestmark = pytest.mark.django_db


def _names(patients):
    return [p.full_name for p in patients]


def test_not_improving_puts_consider_stepping_up_until_an_up_decision(not_improving, clinician):
    p = not_improving()
    assert _names(selectors.worklist(user=clinician)["step_up"]) == ["Nia Still"]
    services.step_decide(patient=p, step=2, reason="Add physiotherapy", actor=clinician)
    assert selectors.worklist(user=clinician)["step_up"] == []


def test_a_stay_decision_with_a_reason_also_clears_it_but_a_step_down_does_not(
        not_improving, clinician):
    p, q = not_improving("Ola", "Stay"), not_improving("Pia", "Down")
    services.step_decide(patient=q, step=2, reason="x", actor=clinician)
    # Backdate q's decision before the flag, then step down after it: still listed.
    q.step_decisions.update(decided_at=timezone.now() - timedelta(days=1))
    services.step_decide(patient=q, step=1, reason="Patient prefers self-management",
                         actor=clinician)
    services.step_decide(patient=p, step=1, reason="Improving in the last fortnight",
                         actor=clinician)
    assert _names(selectors.worklist(user=clinician)["step_up"]) == ["Pia Down"]


def test_a_decision_before_the_flag_does_not_clear_it(not_improving, clinician):
    p = not_improving()
    services.step_decide(patient=p, step=2, reason="Earlier decision", actor=clinician)
    p.step_decisions.update(decided_at=timezone.now() - timedelta(days=30))
    assert _names(selectors.worklist(user=clinician)["step_up"]) == ["Nia Still"]


def test_next_contact_on_puts_the_patient_on_the_worklist_that_day(make_patient, coordinator):
    p = make_patient("Uma", "Later")
    today = timezone.localdate()
    services.contact_create(patient=p, kind="phone", minutes=10, outcome="reached",
                            next_contact_on=today + timedelta(days=2), actor=coordinator)
    assert selectors.worklist(user=coordinator)["due"] == []
    due = selectors.worklist(user=coordinator, today=today + timedelta(days=2))["due"]
    assert _names(due) == ["Uma Later"] and not due[0].overdue
    assert selectors.worklist(user=coordinator, today=today + timedelta(days=3))["due"][0].overdue
    services.contact_create(patient=p, kind="phone", minutes=5, outcome="reached",
                            actor=coordinator)  # contacted: off the list
    assert selectors.worklist(user=coordinator, today=today + timedelta(days=2))["due"] == []


def test_three_no_answers_in_a_row_flag_the_patient(make_patient, coordinator):
    p = make_patient("Val", "Silent")
    now = timezone.now()
    outcomes = ["no_answer", "reached", "no_answer", "no_answer"]
    for i, outcome in enumerate(outcomes):
        services.contact_create(patient=p, kind="phone", minutes=2, outcome=outcome,
                                contacted_at=now - timedelta(hours=10 - i), actor=coordinator)
    assert selectors.worklist(user=coordinator)["no_answer"] == []  # two in a row
    services.contact_create(patient=p, kind="phone", minutes=2, outcome="no_answer",
                            actor=coordinator)
    flagged = selectors.worklist(user=coordinator)["no_answer"]
    assert _names(flagged) == ["Val Silent"] and flagged[0].no_answer_streak == 3
    services.contact_create(patient=p, kind="sms", minutes=1, outcome="left_message",
                            actor=coordinator)
    assert selectors.worklist(user=coordinator)["no_answer"] == []


def test_the_worklist_runs_a_fixed_number_of_queries(make_patient, coordinator, not_improving,
                                                     django_assert_max_num_queries):
    for i in range(3):
        p = make_patient(f"Q{i}", "Many")
        for _ in range(3):
            services.contact_create(patient=p, kind="phone", minutes=1, outcome="no_answer",
                                    next_contact_on=timezone.localdate(), actor=coordinator)
    not_improving()
    with django_assert_max_num_queries(4):
        small = selectors.worklist(user=coordinator)
    for i in range(6):
        p = make_patient(f"R{i}", "More")
        for _ in range(3):
            services.contact_create(patient=p, kind="phone", minutes=1, outcome="no_answer",
                                    next_contact_on=timezone.localdate(), actor=coordinator)
    with django_assert_max_num_queries(4):
        big = selectors.worklist(user=coordinator)
    assert len(big["no_answer"]) == 9 > len(small["no_answer"]) == 3


def test_the_worklist_page_offers_the_quick_forms_and_is_audited(not_improving, clinician):
    p = not_improving()
    c = Client()
    c.force_login(clinician)
    r = c.get("/care/worklist/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Nia Still" in html and f'action="/care/patients/{p.pk}/contacts/"' in html
    assert f'action="/care/patients/{p.pk}/step/"' in html
    assert '<option value="phone">Phone call</option>' in html
    assert '<option value="no_answer">No answer</option>' in html
    assert '<option value="2" selected>' in html  # step up preselected
    assert AuditEvent.objects.filter(action="list", detail__patient_ids=[p.pk]).exists()


def test_other_sites_patients_stay_off_the_worklist(not_improving, clinician, program):
    from patients.models import Site

    p = not_improving()
    p.site = Site.objects.create(program=program, name="North", code="north")
    p.save(update_fields=["site"])
    assert selectors.worklist(user=clinician)["step_up"] == []
