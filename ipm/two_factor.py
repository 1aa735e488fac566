"""TOTP enrolment and verification pages (django-otp)."""

import io

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_record


class TokenForm(forms.Form):
    token = forms.CharField(label="6-digit code", max_length=8,
                            widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                          "autocomplete": "one-time-code",
                                                          "class": "form-control"}))


def _next(request):
    nxt = request.GET.get("next") or request.POST.get("next") or "/"
    return nxt if url_has_allowed_host_and_scheme(nxt, {request.get_host()}) else "/"


def setup(request):
    """Enrol an authenticator app: scan the QR code, confirm with one code."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="default", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(action="2fa.enrolled", object_type="auth.user",
                         object_id=str(request.user.pk))
            messages.success(request, "Two-factor authentication is on for your account.")
            return redirect(_next(request))
        form.add_error("token", "That code did not match. Check the time on your phone and try again.")
    buf = io.BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).save(buf)
    svg = buf.getvalue().decode()
    return render(request, "registration/two_factor_setup.html",
                  {"form": form, "qr_svg": svg, "secret": device.bin_key.hex(),
                   "config_url": device.config_url, "next": _next(request)})


def verify(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(token):
                otp_login(request, device)
                return redirect(_next(request))
        form.add_error("token", "That code did not match.")
    return render(request, "registration/two_factor_verify.html",
                  {"form": form, "next": _next(request)})
