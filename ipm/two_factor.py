"""Second-factor pages (django-otp: TOTP devices, recovery codes as static tokens).

Who may do what (tests/ipm/test_two_factor.py):
- a session that has not passed its second factor reaches only the verify page and logout
  (ipm.middleware.TwoFactorMiddleware; the API and FHIR treat it as anonymous);
- first enrolment needs only the password session, and only while the user has no
  confirmed device; replacing, removing or regenerating recovery codes needs a verified
  session (checked here as well as by the middleware);
- an admin resets another person's second factor (ipm.accounts.two_factor_reset, audited).
"""

import io

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import accounts, roles
from .audit import audit_record

SETUP_SESSION_KEY = "ipm_otp_setup_device"


class TokenForm(forms.Form):
    token = forms.CharField(label="6-digit code", max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                          "autocomplete": "one-time-code",
                                                          "class": "form-control"}))


def _next(request):
    nxt = request.GET.get("next") or request.POST.get("next") or "/"
    return nxt if url_has_allowed_host_and_scheme(nxt, {request.get_host()}) else "/"


def _to_verify(request):
    return redirect(f"{reverse('two-factor-verify')}?next={request.get_full_path()}")


def _verified(request) -> bool:
    return bool(getattr(request.user, "is_verified", lambda: False)())


def _show_codes(request, codes, *, nxt="/"):
    return render(request, "registration/two_factor_recovery_codes.html",
                  {"codes": codes, "next": nxt})


@never_cache
def setup(request):
    """Enrol an authenticator app: scan the QR code, confirm with one code. A user who
    already has a second factor must pass it first (then this replaces the device)."""
    user = request.user
    if user_has_device(user, confirmed=True) and not _verified(request):
        return _to_verify(request)
    device = None
    if request.method == "POST":
        device = TOTPDevice.objects.filter(pk=request.session.get(SETUP_SESSION_KEY),
                                           user=user, confirmed=False).first()
    if device is None:
        # A fresh secret for this session only: a secret shown to another session (or
        # left from an abandoned attempt) is never the one confirmed here.
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
        request.session[SETUP_SESSION_KEY] = device.pk
        form = TokenForm()
    else:
        form = TokenForm(request.POST)
        if form.is_valid():
            if device.verify_token(form.cleaned_data["token"].strip()):
                codes = accounts.two_factor_enrol(
                    user=user, device=device, keep_session_key=request.session.session_key)
                otp_login(request, device)
                request.session.pop(SETUP_SESSION_KEY, None)
                request.session["ipm_otp_enrolled"] = True
                messages.success(request, "Two-factor authentication is on for your account.")
                return _show_codes(request, codes, nxt=_next(request))
            form.add_error("token", "That code did not match. Check the time on your phone "
                                    "and try again.")
    buf = io.BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).save(buf)
    svg = buf.getvalue().decode()
    return render(request, "registration/two_factor_setup.html",
                  {"form": form, "qr_svg": svg, "secret": device.bin_key.hex(),
                   "config_url": device.config_url, "next": _next(request)})


@never_cache
def verify(request):
    """A code from the authenticator app, or one recovery code (used up)."""
    if not user_has_device(request.user, confirmed=True):
        return redirect(_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        if token.isdigit() and len(token) <= 8:  # an app's code; recovery codes are longer
            for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
                if device.verify_token(token):
                    otp_login(request, device)
                    return redirect(_next(request))
        else:
            digest = accounts.recovery_code_digest(token)
            for device in StaticDevice.objects.filter(user=request.user, confirmed=True):
                if device.verify_token(digest):
                    otp_login(request, device)
                    left = accounts.recovery_codes_left(user=request.user)
                    audit_record(action="2fa.recovery_code_used", object_type="auth.user",
                                 object_id=str(request.user.pk), detail={"left": left})
                    messages.warning(request, f"Recovery code used: {left} left. Set up your "
                                              "authenticator again from your account page.")
                    return redirect(_next(request))
        form.add_error("token", "That code did not match.")
    return render(request, "registration/two_factor_verify.html",
                  {"form": form, "next": _next(request)})


@never_cache
def recovery_codes(request):
    """POST: replace the recovery codes (verified session only) and show the new ones."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not _verified(request):
        return _to_verify(request)
    return _show_codes(request, accounts.recovery_codes_create(user=request.user),
                       nxt=reverse("account"))


@never_cache
def disable(request):
    """POST: remove one's own second factor (verified session only)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not _verified(request):
        return _to_verify(request)
    accounts.two_factor_reset(user=request.user, actor=request.user,
                              keep_session_key=request.session.session_key)
    request.session["ipm_otp_enrolled"] = False
    messages.success(request, "Two-factor authentication is off for your account.")
    return redirect("account")


@never_cache
@roles.requires("staff.manage")
def reset(request, user_id: int):
    """Admins: reset another person's second factor (confirm page, then POST)."""
    target = get_object_or_404(get_user_model(), pk=user_id)
    if request.method == "POST":
        try:
            accounts.two_factor_reset(user=target, actor=request.user,
                                      keep_session_key=request.session.session_key)
        except accounts.NotAllowed as exc:
            raise PermissionDenied(exc.message)
        messages.success(request, f"Second factor reset for {target.get_username()}: they "
                                  "set it up again at their next log-in.")
        return redirect(_next(request))
    return render(request, "registration/two_factor_reset.html",
                  {"target": target, "enrolled": user_has_device(target, confirmed=True),
                   "next": _next(request)})
