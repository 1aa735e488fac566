"""Admins edit the service catalogue in the Django admin; referral state changes there go
through the state machine."""

import pytest

from referrals.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(admin_user, client):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client.force_login(admin_user)
    return client


def test_an_admin_edits_a_services_sla(staff_admin):
    service = Service.objects.get(code="physio")
    url = f"/admin/referrals/service/{service.pk}/change/"
    assert staff_admin.get(url).status_code == 200
    r = staff_admin.post(url, {"name": "Physiotherapy", "discipline": "Physiotherapy",
                               "sla_triage_days": 3, "sla_first_visit_days": 21,
                               "is_group_based": "", "active": "on"})
    assert r.status_code == 302
    service.refresh_from_db()
    assert (service.sla_triage_days, service.sla_first_visit_days) == (3, 21)


def test_an_admin_adds_a_service(staff_admin):
    r = staff_admin.post("/admin/referrals/service/add/", {
        "code": "hydrotherapy", "name": "Hydrotherapy", "discipline": "Physiotherapy",
        "sla_triage_days": 7, "sla_first_visit_days": 35, "is_group_based": "on",
        "active": "on"})
    assert r.status_code == 302
    assert Service.objects.get(code="hydrotherapy").is_group_based


def test_the_admin_role_does_not_reach_referrals_in_the_admin(staff_admin, referral):
    assert staff_admin.get("/admin/referrals/referral/").status_code == 403
    assert staff_admin.get(f"/admin/referrals/referral/{referral.pk}/change/").status_code in (302, 403)


def test_the_admin_action_uses_the_state_machine(client, referral, make_referral, patient):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", "root@example.org", "pw-for-tests-1")
    client.force_login(root)
    declined = make_referral(patient, status="declined")
    r = client.post("/admin/referrals/referral/", {
        "action": "transition_to_triaged", "_selected_action": [referral.pk, declined.pk]},
        follow=True)
    assert r.status_code == 200
    referral.refresh_from_db()
    declined.refresh_from_db()
    assert referral.status == "triaged"
    assert declined.status == "declined"
    assert "cannot move from" in r.content.decode()


def test_the_admin_cannot_change_a_referrals_audited_fields(rf, referral):
    from django.contrib import admin
    from django.contrib.auth.models import User

    from referrals.models import Referral

    root = User.objects.create_superuser("root", "root@example.org", "pw-for-tests-1")
    request = rf.get("/")
    request.user = root
    form = admin.site._registry[Referral].get_form(request, referral)
    # Priority, assignee and service change only through referrals.services (audited).
    assert not {"priority", "assignee", "service", "status", "patient"} & set(form.base_fields)
