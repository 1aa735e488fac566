"""Letters to the referring clinician (SPEC §10): an intake summary and a discharge summary,
as PDF (WeasyPrint, Debian's DejaVu fonts), from the patient page, the API
(``GET /api/patients/{id}/letters/{kind}/``) and FHIR (``DocumentReference`` +
``Binary``); batches are rendered by the worker (``tasks.letters_batch``).

Both carry the risk group (STarT Back), pathway, services (referrals and their state),
outcome change from baseline with the MCID verdict of each measure, and a small chart of
the primary measure (inline SVG). The numbers are the patient page's
(``outcomes.selectors.patient_trends``), never recomputed here.
"""

from __future__ import annotations

import base64
from html import escape

import weasyprint
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.documentreference import DocumentReference

from outcomes.instruments.mcid import IMPROVED, UNCHANGED, WORSENED
from outcomes.selectors import patient_trends
from patients.pathways import RED_FLAG_LABELS
from referrals.models import Referral

from . import codes
from .resources import instant

KINDS = ("intake", "discharge")
TITLES = {"intake": "Intake summary", "discharge": "Discharge summary"}
VERDICTS = {IMPROVED: "Improved (at least the MCID)",
            UNCHANGED: "No clinically important change",
            WORSENED: "Worsened (at least the MCID)",
            None: "No MCID for this measure"}


def document_id(patient_id: int, kind: str) -> str:
    return f"{patient_id}-{kind}"


def parse_document_id(value: str) -> tuple[int, str] | None:
    head, _, kind = value.rpartition("-")
    if kind not in KINDS or not head.isdigit() or len(head) > 18:
        return None
    return int(head), kind


# --- content -----------------------------------------------------------------------------

def letter_context(patient, kind: str) -> dict:
    """Everything the letter template shows (a fixed number of queries)."""
    trends = patient_trends(patient)
    intake = patient.intakes.order_by("-created_at").first()
    referrals = list(Referral.objects.filter(patient=patient).select_related("service",
                                                                              "referred_by")
                     .order_by("referred_at", "pk"))
    referrer = next((r.source or (r.referred_by.get_full_name() or r.referred_by.username)
                     for r in referrals if r.source or r.referred_by), "")
    outcomes = [{**row, "verdict": VERDICTS.get(row["classification"], VERDICTS[None])}
                for row in trends["summary"]]
    chart = next((c for c in trends["charts"] if c["id"] != "mme"
                  and any(len(s["points"]) for s in c["series"] if not s["hidden"])), None)
    red_flags = ([RED_FLAG_LABELS.get(k, k) for k, v in (intake.red_flags or {}).items() if v]
                 if intake else [])
    return {
        "kind": kind,
        "title": TITLES[kind],
        "patient": patient,
        "program": patient.program,
        "site": patient.site,
        "today": timezone.localdate(),
        "referrer": referrer,
        "intake": intake,
        "red_flags": red_flags,
        "referrals": referrals,
        "open_referrals": [r for r in referrals if r.is_open],
        "outcomes": outcomes,
        "chart": chart,
        "chart_svg": chart_svg(chart) if chart else "",
        "trends": trends,
        "clinician": patient.clinician,
    }


def chart_svg(chart: dict, width: int = 480, height: int = 160) -> str:
    """A small line chart (inline SVG) of the chart's shown series against weeks since
    intake, with the baseline and the MCID band of the first series."""
    pad_l, pad_r, pad_t, pad_b = 36, 10, 10, 26
    series = [s for s in chart["series"] if not s["hidden"] and s["points"]]
    xs = [p["x"] for s in series for p in s["points"]]
    x0, x1 = min(0.0, *xs), max(1.0, *xs)
    y0, y1 = float(chart["y_min"]), float(chart["y_max"])
    if y1 <= y0:
        y1 = y0 + 1

    def px(x):
        return pad_l + (x - x0) / (x1 - x0) * (width - pad_l - pad_r)

    def py(y):
        return pad_t + (1 - (float(y) - y0) / (y1 - y0)) * (height - pad_t - pad_b)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(chart["title"])} over time">']
    first = series[0] if series else None
    if first and first.get("band"):
        band = first["band"]
        top, bottom = py(band["high"]), py(band["low"])
        parts.append(f'<rect x="{pad_l}" y="{top:.1f}" width="{width - pad_l - pad_r}" '
                     f'height="{max(0.5, bottom - top):.1f}" fill="#dfe9f5"/>')
    if first and first.get("baseline") is not None:
        y = py(first["baseline"])
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#888" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{pad_l}" x2="{pad_l}" y1="{pad_t}" y2="{height - pad_b}" '
                 f'stroke="#333"/>')
    parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{height - pad_b}" '
                 f'y2="{height - pad_b}" stroke="#333"/>')
    for value in (y0, y1):
        parts.append(f'<text x="{pad_l - 4}" y="{py(value) + 4:.1f}" font-size="9" '
                     f'text-anchor="end">{value:g}</text>')
    parts.append(f'<text x="{(width + pad_l) / 2:.1f}" y="{height - 6}" font-size="9" '
                 f'text-anchor="middle">weeks since intake</text>')
    colours = ("#1f5fa8", "#b5442c", "#3b8a3e", "#7a4fa0")
    for n, s in enumerate(series):
        colour = colours[n % len(colours)]
        points = " ".join(f"{px(p['x']):.1f},{py(p['y']):.1f}" for p in s["points"]
                          if p["y"] is not None)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"/>')
        for p in s["points"]:
            if p["y"] is not None:
                parts.append(f'<circle cx="{px(p["x"]):.1f}" cy="{py(p["y"]):.1f}" r="3" '
                             f'fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(patient, kind: str) -> str:
    context = letter_context(patient, kind)
    # The SVG is built by chart_svg from numbers and the escaped chart title only.
    context["chart_svg"] = mark_safe(context["chart_svg"])  # nosec B308 B703 - see above
    return render_to_string("letters/letter.html", context)


def render_pdf(patient, kind: str) -> bytes:
    """The letter as PDF bytes (WeasyPrint: no network, fonts from the system)."""
    html = render_html(patient, kind)
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def filename(patient, kind: str) -> str:
    return f"{kind}-summary-{patient.pk}.pdf"


# --- FHIR --------------------------------------------------------------------------------

def document_reference(patient, kind: str, *, final: bool) -> DocumentReference:
    """The letter as a DocumentReference whose attachment is ``Binary/<id>`` (rendered when
    read). ``final``: the intake letter once there is an intake, the discharge letter once
    no referral is open; otherwise ``preliminary`` (a summary to date)."""
    return DocumentReference.model_validate(document_reference_data(patient, kind, final=final))


def document_reference_data(patient, kind: str, *, final: bool) -> dict:
    """Plain data (resources.py)."""
    code, display = codes.LETTER_TYPES[kind]
    ident = document_id(patient.pk, kind)
    updated = instant(patient.updated_at)
    return {
        "resourceType": "DocumentReference",
        "id": ident,
        # The letter is written from the patient's record when read: it changes with it.
        "meta": {"lastUpdated": updated},
        "status": "current",
        "docStatus": "final" if final else "preliminary",
        "type": {"coding": [{"system": codes.LETTER_TYPE_SYSTEM, "code": code,
                             "display": display}], "text": TITLES[kind]},
        "subject": {"reference": f"Patient/{patient.pk}"},
        "date": updated,
        "description": f"{TITLES[kind]} for the referring clinician",
        "content": [{"attachment": {"contentType": "application/pdf",
                                    "url": f"Binary/{ident}",
                                    "title": filename(patient, kind)}}],
    }


def binary_resource(patient_id: int, kind: str, pdf: bytes) -> Binary:
    return Binary.model_validate({
        "resourceType": "Binary",
        "id": document_id(patient_id, kind),
        "contentType": "application/pdf",
        "securityContext": {"reference": f"Patient/{patient_id}"},
        "data": base64.b64encode(pdf).decode("ascii"),
    })
