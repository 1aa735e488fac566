"""Every page of every role passes axe-core (WCAG 2.1 AA rules) with no serious or critical
violation.

The pages are not listed by hand: the test walks the URL configuration, fills each route's
ids from the demo program (`manage.py demo_data`), and visits every route the role can open
(HTTP 200, HTML). A new page is checked as soon as its `urls.py` is included; a new route
with an id needs one line in _samples() saying which row to open (the test says so).

axe-core is vendored under tests/e2e/vendor/ (MPL-2.0, see its licence there) and injected
by the test only; the app never serves it.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from appointments.models import Appointment, AttendanceReview
from care.models import Goal
from metrics.models import MetricSnapshot
from outcomes.links import token_for
from outcomes.models import QuestionnaireLink, SafetyAlert, ScheduleRule
from outcomes.schedule import DEFAULT_SCHEDULE
from patients.models import Intake
from referrals import catalogue
from referrals.models import MdtAgendaItem, MdtAttendee, MdtMeeting, Referral, Service
from reminders.models import Reminder
from reminders.tokens import stop_token
from visits.models import GroupSeries, GroupSession

pytestmark = pytest.mark.django_db(transaction=True)

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
FAILING_IMPACTS = ("serious", "critical")
DEMO_PASSWORDS = {"clinician": "clinician-demo-pass", "coordinator": "coordinator-demo-pass",
                  "admin": "admin-demo-pass"}
# Not our pages: Django's admin, the JSON/FHIR APIs and their generated docs, file exports.
SKIP_PREFIXES = ("/admin/", "/api/", "/fhir/", "/static/", "/healthz", "/livez")
SKIP_SUFFIXES = (".csv",)
PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def routes(resolver=None, prefix: str = "") -> list[str]:
    """Every route of the URL configuration as '/patients/<int:pk>/', in include order."""
    resolver = resolver or get_resolver()
    out = []
    for entry in resolver.url_patterns:
        pattern = str(entry.pattern)
        if pattern.startswith("^"):  # a regex route (FHIR, the API's catch-all): not a page
            continue
        if isinstance(entry, URLResolver):
            out += routes(entry, prefix + pattern)
        elif isinstance(entry, URLPattern):
            out.append("/" + prefix + pattern)
    return out


def _samples() -> dict[str, dict]:
    """Route (as written in urls.py, with the site prefix) → a value for each of its ids."""
    def first(model, **kw):
        return model.objects.filter(**kw).order_by("pk").first()

    intake = first(Intake)
    patient = intake.patient
    link = first(QuestionnaireLink, used_at__isnull=True)
    return {
        "patients/<int:pk>/": {"pk": patient.pk},
        "patients/<int:patient_pk>/intakes/<int:pk>/": {"patient_pk": patient.pk,
                                                         "pk": intake.pk},
        "referrals/<int:pk>/": {"pk": first(Referral).pk},
        "referrals/mdt/<int:pk>/": {"pk": first(MdtMeeting).pk},
        "referrals/mdt/agenda/<int:pk>/": {"pk": first(MdtAgendaItem).pk},
        "referrals/mdt/attendees/<int:pk>/": {"pk": first(MdtAttendee).pk},
        "groups/<int:pk>/": {"pk": first(GroupSeries).pk},
        "groups/sessions/<int:pk>/": {"pk": first(GroupSession).pk},
        "alerts/<int:pk>/": {"pk": first(SafetyAlert).pk},
        "q/<str:token>/": {"token": token_for(link)},
        "reminders/<int:pk>/": {"pk": first(Reminder).pk},
        "reminders/stop/<str:token>/": {"token": stop_token(patient.pk)},
        "metrics/snapshots/<int:pk>/": {"pk": first(MetricSnapshot).pk},
        "accounts/tokens/<str:token_key>/": {"token_key": "no-such-token"},
        "accounts/2fa/reset/<int:user_id>/": {"user_id": first(User, username="clinician").pk},
        "appointments/<int:pk>/": {"pk": first(Appointment, note__isnull=False).pk},
        # POST-only (the probe's 405 skips it); the demo may have no open review.
        "appointments/reviews/<int:pk>/": {"pk": getattr(first(AttendanceReview), "pk", 1)},
        "appointments/feed/<str:token>.ics": {"token": "no-such-token"},  # not HTML
        "care/patients/<int:pk>/": {"pk": patient.pk},
        "care/goals/<int:pk>/": {"pk": first(Goal).pk},
        "team/staff/<int:pk>/": {"pk": first(User, username="clinician").pk},
        # An invitation link that is not (or no longer) valid: the page says so plainly.
        "team/invite/<str:token>/": {"token": "MQ.expired-token"},
    }


def concrete_paths() -> list[str]:
    samples = _samples()
    paths, missing = [], []
    for route in routes():
        if route.startswith(SKIP_PREFIXES) or route.endswith(SKIP_SUFFIXES):
            continue
        if not PARAM.search(route):
            paths.append(route)
            continue
        # The longest sample key that the route starts with (after the leading slash).
        key = max((k for k in samples if route[1:].startswith(k)), key=len, default=None)
        if key is None:
            missing.append(route)
            continue
        values = samples[key]
        paths.append(PARAM.sub(lambda m, v=values: str(v[m.group("name")]), route))
    assert not missing, (
        f"routes with ids and no sample row: {missing}; add them to _samples() in {__file__}")
    return list(dict.fromkeys(paths))


def seed_demo() -> None:
    """The demo program (a transactional test flushes what migrations seeded: put it back)."""
    catalogue.seed(Service)
    if not ScheduleRule.objects.filter(program__isnull=True).exists():
        ScheduleRule.objects.bulk_create([
            ScheduleRule(program=None, instrument=r.instrument, weeks_after_intake=r.weeks,
                         at_discharge=r.at_discharge) for r in DEFAULT_SCHEDULE])
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def page(browser, live_server):
    """A page whose CSP lets the test inject axe (the app's own scripts are unaffected)."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True,
                                  viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def violations(page) -> list[str]:
    page.add_script_tag(content=AXE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' +
                                             (n.failureSummary || '').split('\\n')[1])}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
            for v in result if v["impact"] in FAILING_IMPACTS]


def check_pages(page, paths) -> dict[str, list[str]]:
    found, checked = {}, []
    for path in paths:
        # Probe first (same cookies): POST-only routes answer 405 with no page to check.
        probe = page.request.get(path, max_redirects=0)
        if probe.status != 200 or "text/html" not in probe.headers.get("content-type", ""):
            continue
        if "<html" not in probe.text()[:500].lower():
            continue  # an htmx fragment: checked inside the page that loads it
        page.goto(path)
        checked.append(path)
        bad = violations(page)
        if bad:
            found[path] = bad
    return found, checked


@pytest.mark.parametrize("role", ["clinician", "coordinator", "admin"])
def test_it_finds_no_serious_violation_on_any_page_a_role_opens(page, role):
    seed_demo()
    paths = concrete_paths()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(DEMO_PASSWORDS[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    found, checked = check_pages(page, paths)
    assert len(checked) >= 3, checked
    # The refusal and not-found pages are pages too.
    refused = "/audit/" if role != "admin" else "/patients/"
    for path, status in (("/this-page-does-not-exist/", 404), (refused, 403)):
        response = page.goto(path)
        assert response.status == status
        if bad := violations(page):
            found[path] = bad
    assert not found, "\n".join(f"{p}:\n  " + "\n  ".join(v) for p, v in found.items())


def test_it_finds_no_serious_violation_on_the_pages_anyone_opens(page):
    """Login, the patient's questionnaire link and stop link, and a refused page."""
    seed_demo()
    paths = [p for p in concrete_paths() if p.startswith(("/accounts/login/", "/q/",
                                                          "/reminders/stop/"))]
    found, checked = check_pages(page, paths)
    assert any(p.startswith("/q/") for p in checked), checked
    assert any(p.startswith("/reminders/stop/") for p in checked), checked
    assert not found, "\n".join(f"{p}:\n  " + "\n  ".join(v) for p, v in found.items())
