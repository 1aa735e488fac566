"""Team pages (admin): setup checklist, program settings, sites, staff, caseload
reassignment; and the invited person's set-password page (no login)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from ipm import accounts
from ipm.errors import Conflict, InvalidInput
from ipm.roles import requires
from patients.models import Program
from patients.program import crisis_message_for

from . import readiness, selectors, services
from .forms import ProgramForm, ReassignForm, SiteForm, StaffForm

User = get_user_model()


def _form_errors(form, exc) -> None:
    """Show a service's 400/409 on the form: per field where the form has it."""
    placed = False
    for field, problems in (exc.errors or {}).items():
        name = {"roles_": "roles"}.get(field, field)
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
            placed = True
    if not placed or isinstance(exc, Conflict):
        form.add_error(None, exc.message)


@requires("program.configure")
def setup(request):
    problems = readiness.readiness_problems()
    return render(request, "team/setup.html", {"problems": problems,
                                               "program": Program.default()})


@requires("program.configure")
def program_settings(request):
    program = Program.default()
    form = ProgramForm(request.POST or None, program=program)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.program_update(program=program, actor=request.user, **form.settings())
            except InvalidInput as exc:
                for day_field in ("working_hours",):
                    for problem in exc.errors.pop(day_field, []):
                        form.add_error(None, f"Working hours: {problem}")
                _form_errors(form, exc)
            else:
                messages.success(request, "Program settings saved.")
                return redirect("team:program")
        status = 400
    return render(request, "team/program.html", {
        "form": form, "program": program, "crisis_default": crisis_message_for(
            Program(holiday_country=program.holiday_country))}, status=status)


@requires("site.manage")
def sites(request):
    form = SiteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                site = services.site_create(program=Program.default(), actor=request.user,
                                            **form.cleaned_data)
            except (InvalidInput, Conflict) as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"Site {site.name} added.")
                return redirect("team:sites")
        status = 400
    return render(request, "team/sites.html", {"sites": list(selectors.sites_with_counts()),
                                               "form": form}, status=status)


@requires("staff.manage")
def staff_list(request):
    form = StaffForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.staff_create(
                    actor=request.user, username=data["username"], email=data["email"],
                    first_name=data["first_name"], last_name=data["last_name"],
                    phone=data["phone"], roles_=data["roles"], sites=list(data["sites"]))
            except (InvalidInput, Conflict) as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"{user.username} added; the invitation is on its "
                                          f"way to {user.email}.")
                return redirect("team:staff")
        status = 400
    people = list(selectors.staff_list(q=request.GET.get("q", "")))
    return render(request, "team/staff.html", {"people": people, "form": form,
                                               "q": request.GET.get("q", "")}, status=status)


@requires("staff.manage")
def staff_edit(request, pk: int):
    person = get_object_or_404(selectors.staff_list(), pk=pk)
    initial = {"username": person.username, "email": person.email,
               "first_name": person.first_name, "last_name": person.last_name,
               "phone": getattr(getattr(person, "staff_profile", None), "phone", ""),
               "roles": [g.name for g in person.groups.all()],
               "sites": list(person.sites.all()), "is_active": person.is_active}
    form = StaffForm(request.POST or None, initial=initial, editing=True)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("username", None)
            data["sites"] = list(data["sites"])
            try:
                services.staff_update(user=person, actor=request.user, **data)
            except (InvalidInput, Conflict) as exc:
                _form_errors(form, exc)
                if isinstance(exc.detail, dict) and exc.detail.get("caseload"):
                    messages.error(request, f"Reassign the caseload of {exc.detail['caseload']} "
                                            "patient(s) first, on the reassignment page.")
            else:
                messages.success(request, f"{person.username} saved.")
                return redirect("team:staff")
        status = 400
    return render(request, "team/staff_edit.html", {"person": person, "form": form},
                  status=status)


@requires("staff.manage")
def staff_reset_2fa(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    person = get_object_or_404(User, pk=pk)
    removed = selectors.second_factor_devices(person)
    accounts.two_factor_reset(user=person, actor=request.user)
    messages.success(request, f"Second factor reset for {person.username} ({removed} device(s) "
                              "removed): they set it up again at their next login.")
    return redirect("team:staff-edit", pk=pk)


@requires("staff.manage")
def staff_invite(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    person = get_object_or_404(User, pk=pk)
    services.staff_invite(user=person, actor=request.user)
    messages.success(request, f"A new invitation is on its way to {person.email}.")
    return redirect("team:staff-edit", pk=pk)


@requires("staff.manage")
def reassign(request):
    form = ReassignForm(request.POST or None, initial={"from_user": request.GET.get("from")})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                moved = services.caseload_move(
                    from_user=data["from_user"], to_user=data["to_user"], actor=request.user,
                    clinician=data["clinician"], care_manager=data["care_manager"])
            except (InvalidInput, Conflict) as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, f"Moved {moved['clinician']} patient(s) as responsible "
                                          f"clinician and {moved['care_manager']} as care manager "
                                          f"to {data['to_user'].username}.")
                return redirect("team:reassign")
        status = 400
    holders = [p for p in selectors.staff_list() if p.caseload]
    return render(request, "team/reassign.html", {"form": form, "holders": holders},
                  status=status)


@login_not_required
@never_cache
@sensitive_post_parameters()
def set_password(request, token: str):
    """The invitation link: choose a password once. The token is Django's password-reset
    token, so it no longer works after the password is set, or after it expires."""
    try:
        uidb64, token = token.split(".", 1)
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        user = None
    if user is None or not user.is_active or not default_token_generator.check_token(user, token):
        return render(request, "team/set_password_invalid.html", status=410)
    form = SetPasswordForm(user, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            # Validated by the form; user_password_set ends any other session and token
            # and writes the audit row (ipm.accounts, every password change goes there).
            accounts.user_password_set(user=user, password=form.cleaned_data["new_password1"],
                                       actor=user, validate=False)
            readiness.readiness_changed()
            messages.success(request, "Your password is set. Log in with your username "
                                      f"{user.username}.")
            return redirect("login")
        status = 400
    return render(request, "team/set_password.html", {"form": form, "person": user},
                  status=status)
