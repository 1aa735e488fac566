"""The SLA clock in the database: days waiting, the breach flag at its boundaries, the
home-page summary, and the MDT candidates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals import selectors
from referrals.models import Referral, Service
from referrals.services import referral_request_mdt, referral_transition

pytestmark = pytest.mark.django_db


def _row(referral, now=None):
    return selectors.referrals_with_sla(now=now).get(pk=referral.pk)


def test_days_waiting_counts_whole_days(make_referral, patient):
    referral = make_referral(patient)
    start = referral.referred_at
    assert _row(referral, now=start + timedelta(hours=23, minutes=59)).days_waiting == 0
    assert _row(referral, now=start + timedelta(days=1)).days_waiting == 1
    assert _row(referral, now=start + timedelta(days=6, hours=23)).days_waiting == 6


@pytest.mark.parametrize(("days", "breached"), [(5, False), (6, True)])
def test_a_new_referral_breaches_after_the_triage_target(days, breached, make_referral, patient):
    referral = make_referral(patient, "physio")  # triage within 5 days
    assert Service.objects.get(code="physio").sla_triage_days == 5
    row = _row(referral, now=referral.referred_at + timedelta(days=days, hours=1))
    assert (row.days_waiting, row.sla_breached) == (days, breached)


@pytest.mark.parametrize(("status", "days", "breached"), [
    ("triaged", 28, False), ("triaged", 29, True), ("scheduled", 29, True),
    ("in_treatment", 60, False), ("declined", 60, False), ("cancelled", 60, False),
])
def test_after_triage_the_first_visit_target_applies(status, days, breached, make_referral,
                                                     patient):
    referral = make_referral(patient, "physio", status=status)  # first visit within 28 days
    row = _row(referral, now=referral.referred_at + timedelta(days=days, hours=1))
    assert row.sla_breached is breached


def test_an_admin_edit_of_the_target_moves_the_flag(make_referral, patient):
    referral = make_referral(patient, "physio", days_ago=7)
    assert _row(referral).sla_breached is True
    Service.objects.filter(code="physio").update(sla_triage_days=10)
    assert _row(referral).sla_breached is False


def test_queue_summary_counts_new_and_breached(make_referral, make_patient):
    make_referral(make_patient("A", "A"), "physio", days_ago=1)            # new, in time
    make_referral(make_patient("B", "B"), "physio", days_ago=9)            # new, breached
    make_referral(make_patient("C", "C"), "psychology", status="triaged", days_ago=60)  # breached
    make_referral(make_patient("D", "D"), "physio", status="declined", days_ago=60)     # closed
    assert selectors.queue_summary() == {"new": 2, "breached": 2}


def test_queue_summary_runs_one_query(django_assert_num_queries, make_referral, patient):
    make_referral(patient, days_ago=9)
    with django_assert_num_queries(1):
        selectors.queue_summary()


def test_mdt_candidates_are_complex_referrals_not_yet_on_an_agenda(make_referral, make_patient,
                                                                   coordinator):
    red = make_referral(make_patient("Red", "Flag", red_flag=True), "pain_medicine")
    high = make_referral(make_patient("High", "Risk", risk_group="high"), "physio")
    multi_patient = make_patient("Multi", "Disc")
    multi_a = make_referral(multi_patient, "physio")
    multi_b = make_referral(multi_patient, "psychology")
    plain = make_referral(make_patient("Plain", "Case"), "physio")
    asked = make_referral(make_patient("Asked", "For"), "yoga", status="triaged")
    referral_request_mdt(referral=asked, actor=coordinator)
    triaged_high = make_referral(make_patient("Old", "High", risk_group="high"), "physio",
                                 status="triaged")

    ids = set(selectors.mdt_candidates().values_list("pk", flat=True))
    assert ids == {red.pk, high.pk, multi_a.pk, multi_b.pk, asked.pk}
    assert plain.pk not in ids and triaged_high.pk not in ids


def test_days_waiting_is_computed_for_now_by_default(make_referral, patient):
    referral = make_referral(patient, days_ago=3)
    assert _row(referral).days_waiting == 3
    referral_transition(referral=referral, to="declined", reason="x",
                        at=timezone.now() - timedelta(days=1))
    assert _row(referral).days_waiting == 2
    assert Referral.objects.get(pk=referral.pk).status == "declined"


def test_the_queue_counts_without_joining_the_service_table(make_referral, make_patient,
                                                           django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(3):
        make_referral(make_patient(f"N{i}", "N"), days_ago=i)
    make_referral(make_patient("D", "D"), status="declined")
    qs = selectors.referral_queue(status="waiting")
    with CaptureQueriesContext(connection) as ctx:
        assert qs.count() == 3
    assert "referrals_service" not in ctx.captured_queries[0]["sql"]
    # Any further filter drops the shortcut and counts what it filters.
    assert qs.filter(days_waiting__gte=1).count() == 2
    assert selectors.referral_queue(status="waiting", breached=False).count() == 3
