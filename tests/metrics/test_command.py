"""`manage.py compute_metrics` and the demo hook."""

import pytest
from django.core.management import CommandError, call_command

from metrics import demo
from metrics.models import MetricSnapshot


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("compute_metrics", *args, stdout=out)
    return out.getvalue()


def test_it_computes_a_snapshot_and_prints_the_key_numbers(feb_program):
    out = run("--from", "2025-02-01", "--to", "2025-02-28")
    snapshot = MetricSnapshot.objects.get()
    assert (snapshot.status, snapshot.trigger) == ("done", "command")
    assert "2025-02-01 to 2025-02-28, whole program (5 weeks of trends)" in out
    assert "New intakes" in out and "Responders (MCID): PEG" in out
    peg_line = next(line for line in out.splitlines() if "Responders (MCID): PEG" in line)
    assert peg_line.rstrip().endswith("50.0 %")


def test_it_computes_for_one_service(feb_program):
    out = run("--from", "2025-02-01", "--to", "2025-02-28", "--service", "physio")
    assert "physio" in out
    assert MetricSnapshot.objects.get().service.code == "physio"


@pytest.mark.parametrize(("args", "field"), [
    (["--from", "2025-02-31"], "--from"),
    (["--service", "astrology"], "--service"),
])
def test_it_names_a_bad_option(db, args, field):
    with pytest.raises(CommandError, match=field):
        run(*args)
    assert not MetricSnapshot.objects.exists()


def test_it_leaves_a_snapshot_for_the_demo_dashboard(admin_user):
    demo.populate({"users": {"admin": admin_user}, "patients": []})
    snapshot = MetricSnapshot.objects.get()
    assert snapshot.status == "done" and snapshot.requested_by == admin_user


def test_it_shows_its_progress_on_stderr_without_carriage_returns(feb_program):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("compute_metrics", "--from", "2025-02-01", "--to", "2025-02-28",
                 stdout=out, stderr=err)
    lines = err.getvalue().splitlines()
    assert lines and lines[-1].startswith("metrics") and "100/100" in lines[-1]
    assert "\r" not in err.getvalue() and "[" not in out.getvalue()
