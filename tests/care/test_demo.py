import pytest
from django.core.management import call_command
from django.utils import timezone

from care import selectors
from care.models import Contact, Goal, StepDecision
from patients.models import Patient
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_the_demo_program_has_care_management_work(capsys):
    call_command("demo_data")
    assert "care: demo data loaded" in capsys.readouterr().out
    assert StepDecision.objects.filter(direction="up").count() == 3
    assert StepDecision.objects.filter(direction="stay").exists()
    assert Contact.objects.count() >= 15 and Goal.objects.filter(psfs_item="a1").exists()
    work = selectors.worklist(user=make_user("viewer", "coordinator"))
    assert work["due"] and work["no_answer"]
    # Some month of the last two meets a billing code.
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timezone.timedelta(days=1)).replace(day=1)
    rows = [row for month in (today, last_month) for row in
            selectors.billing_export(month=month, patients=Patient.objects.all())["rows"]]
    assert any(row["families"] for row in rows)
