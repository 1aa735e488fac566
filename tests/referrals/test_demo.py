"""The demo queue: mixed services, priorities and states, some over SLA, and an upcoming
MDT meeting with two referrals on its agenda."""

import pytest

from referrals import demo, selectors
from referrals.models import MdtMeeting, Referral

pytestmark = pytest.mark.django_db


def test_it_populates_a_realistic_queue(clinician, coordinator, admin_user, make_patient):
    pathways = ["physiotherapy", "psychologically_informed_physio", "self_management",
                "urgent_medical_review"]
    patients = [make_patient(f"Demo{i}", "Person", pathway=pathways[i % 4],
                             risk_group=["medium", "high", "low", "medium"][i % 4],
                             red_flag=(i % 4 == 3))
                for i in range(16)]
    ctx = {"users": {"clinician": clinician, "coordinator": coordinator, "admin": admin_user},
           "patients": patients}
    demo.populate(ctx)
    referrals = Referral.objects.all()
    assert referrals.count() >= 16
    assert len(set(referrals.values_list("service__code", flat=True))) >= 5
    assert set(referrals.values_list("priority", flat=True)) == {"routine", "urgent"}
    assert len(set(referrals.values_list("status", flat=True))) >= 6
    assert selectors.queue_summary()["breached"] >= 2
    meeting = MdtMeeting.objects.get()
    assert meeting.items.count() == 2
    assert meeting.attendees.count() >= 3
    demo.populate(ctx)  # a second run adds nothing
    assert MdtMeeting.objects.count() == 1
