"""IPM rows → FHIR resources, built with the ``fhir.resources.R4B`` models.

Each resource is assembled as plain data (``*_data``: JSON-ready, elements in the order
FHIR and the models print them) and ``*_resource`` constructs the R4B model from it, so a
resource that breaks the FHIR structure fails there (a server bug), never reaches a client.
The Bulk Data export writes the plain data (``dumps``) without building a model per
resource, which would cost it most of its time; tests/fhir/test_bulk_export.py checks
that the two write the same bytes. References between resources are relative
(``Patient/12``); Bundles add absolute ``fullUrl``s. Instrument facts (items, options,
LOINC codes) come from the registry in ``outcomes.instruments``; scores come from the
stored response, never recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.servicerequest import ServiceRequest

from outcomes import instruments

from . import codes

FHIR_VERSION = "4.0.1"


def instant(value: datetime | None) -> str | None:
    """An aware datetime in the program's time zone, to the second, as the R4B models print
    it (``Z`` for a zero offset)."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def version_of(moment: datetime | None) -> str | None:
    """``meta.versionId`` of a row: its last change to the microsecond (a new version on
    every change, the same one while it is unchanged), so the ETag costs no extra column."""
    if moment is None:
        return None
    return str(int(moment.timestamp() * 1_000_000))


def meta(last_updated: datetime | None, version: str | None = None) -> dict:
    return {"versionId": version or version_of(last_updated), "lastUpdated": instant(last_updated)}


def humanise(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _user_display(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.username


def _coding(coding) -> dict:
    """A registry code as a FHIR Coding, in FHIR's element order."""
    return {"system": coding.system, "code": coding.code, "display": coding.display}


def _patient_ref(patient_id: int, display: str | None = None) -> dict:
    ref = {"reference": f"Patient/{patient_id}"}
    if display:
        ref["display"] = display
    return ref


def _clean(data: Any) -> Any:
    """Drop ``None`` values and empty lists/dicts (FHIR forbids empty elements)."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if isinstance(v, dict | list):
                v = _clean(v)
                if not v:
                    continue
            elif v is None:
                continue
            out[k] = v
        return out
    if isinstance(data, list):
        return [_clean(v) if isinstance(v, dict | list) else v for v in data]
    return data


def _json_number(value):
    # As fhir.resources prints a FHIR decimal: a whole number without a fraction, else a float.
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if (value.is_finite() and isinstance(exponent, int) and exponent >= 0
                and value == value.to_integral_value()):
            return int(value)
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False,
                            default=_json_number)


def dumps(data: dict) -> str:
    """One resource's plain data as JSON, the bytes ``model_dump_json()`` of its model
    writes (compact, UTF-8 unescaped, decimals as the model prints them)."""
    return _encoder.encode(data)


def validate(data: dict):
    """The R4B model of one resource's plain data (raises if it breaks the FHIR structure)."""
    return get_fhir_model_class(data["resourceType"]).model_validate(data)


# --- Patient ---------------------------------------------------------------------------------

def patient_resource(patient) -> Patient:
    """Needs ``patient.program`` (select_related)."""
    return Patient.model_validate(patient_data(patient))


def patient_data(patient) -> dict:
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email, "use": "home",
                        "rank": 1 if patient.preferred_channel == "email" else 2})
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile",
                        "rank": 1 if patient.preferred_channel == "sms" else 2})
    return _clean({
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": meta(patient.updated_at),
        "identifier": [{
            "use": "usual",
            "type": {"coding": [{"system": codes.IDENTIFIER_TYPE, "code": "MR",
                                 "display": "Medical record number"}], "text": "MRN"},
            "system": codes.mrn_system(patient.program.slug),
            "value": patient.mrn,
        }],
        "active": True,
        "name": [{"use": "official", "text": patient.full_name, "family": patient.family_name,
                  "given": [patient.given_name]}],
        "telecom": telecom,
        "gender": patient.sex,  # IPM's choices are FHIR's administrative genders
        "birthDate": patient.birth_date.isoformat(),
        "managingOrganization": {"display": patient.program.name},
    })


# --- Questionnaire ---------------------------------------------------------------------------

def _answer_coding(instrument, item, value) -> dict:
    """The LOINC answer code (``LA…``) where the instrument facts give one, else IPM's own
    answer code (the stored value); the stored value rides along as ``ordinalValue``."""
    option = next((o for o in item.options if o.value == value), None) if item else None
    label = option.label if option else None
    ordinal = [{"url": codes.EXT_ORDINAL_VALUE, "valueDecimal": value}]
    if option is not None and option.loinc_answer:
        return {"extension": ordinal, "system": codes.LOINC, "code": option.loinc_answer,
                "display": label}
    return {"extension": ordinal, "system": codes.answer_system(instrument.code),
            "code": str(value), "display": label}


def _enable_when(instrument, key: str) -> list[dict] | None:
    condition = instrument.asked_when.get(key)
    if condition is None:
        return None
    controller = instrument.item(condition.item)
    return [{"question": condition.item, "operator": "=",
             "answerCoding": _answer_coding(instrument, controller, condition.equals)}]


@cache
def _questionnaire_data(code: str) -> dict:
    instrument = instruments.get(code)
    panel = instrument.loinc.panel
    return _clean({
        "resourceType": "Questionnaire",
        "id": codes.to_fhir_id(code),
        "url": codes.questionnaire_url(code),
        "version": instrument.version,
        "name": "".join(part.capitalize() for part in code.split("_")),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": (f"Recall period: {instrument.recall_period}"
                        if instrument.recall_period else None),
        "copyright": instrument.license_note or None,
        "code": [_coding(panel)] if panel else [],
        "item": [{
            "linkId": item.key,
            "text": item.text,
            "type": "choice",
            # An item under skip logic is required whenever it is enabled (asked).
            "required": item.required or item.key in instrument.asked_when,
            "enableWhen": _enable_when(instrument, item.key),
            "code": [_coding(item.loinc)] if item.loinc else [],
            "answerOption": [{
                # ordinalValue carries the stored (scored) value of each option.
                "extension": [{"url": codes.EXT_ORDINAL_VALUE, "valueDecimal": option.value}],
                "valueCoding": _answer_coding(instrument, item, option.value),
            } for option in item.options],
        } for item in instrument.items],
    })


def questionnaire_resource(code: str) -> Questionnaire:
    return Questionnaire.model_validate(_questionnaire_data(code))


# --- QuestionnaireResponse -------------------------------------------------------------------

def questionnaire_response_resource(response) -> QuestionnaireResponse:
    """Needs ``response.entered_by`` (select_related)."""
    return QuestionnaireResponse.model_validate(questionnaire_response_data(response))


def questionnaire_response_data(response) -> dict:
    code = response.instrument
    instrument = instruments.get(code)
    answers = response.answers or {}
    items = []
    for item in instrument.items:
        value = answers.get(item.key)
        if value is not None:  # stored answers are numbers (an unhashable one fails)
            items.append(_answered_item(code, item.key, value))
    from_patient = response.context == "patient_link"
    data = _clean({
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "meta": meta(response.answered_at, "1"),  # responses are never edited
        "extension": [{"url": codes.EXT_INSTRUMENT_VERSION,
                       "valueString": response.instrument_version}],
        "questionnaire": codes.questionnaire_url(code),
        "status": "completed",
        "subject": _patient_ref(response.patient_id),
        "authored": instant(response.answered_at),
        "author": (_patient_ref(response.patient_id) if from_patient
                   else {"display": _user_display(response.entered_by)}),
        "source": _patient_ref(response.patient_id) if from_patient else None,
    })
    if items:  # the last element; clean already
        data["item"] = items
    return data


@cache
def _answered_item(code: str, key: str, value) -> dict:
    """One answered item (the same for every response giving this answer: built once, and
    shared read-only by the resources that carry it)."""
    instrument = instruments.get(code)
    item = instrument.item(key)
    return _clean({"linkId": key, "text": item.text,
                   "answer": [{"valueCoding": _answer_coding(instrument, item, value)}]})


# --- Observation -----------------------------------------------------------------------------

@cache
def observation_keys(code: str) -> tuple[str, ...]:
    """The scores that become Observations: every trendable number (totals, subscales,
    PROMIS T-scores and pain intensity), top-level key names."""
    return tuple(dict.fromkeys(key.split(".")[0] for key in instruments.headline_keys(code)))


def score_display(code: str, key: str) -> str:
    instrument = instruments.get(code)
    suffix = " T-score" if f"{key}.t_score" in instrument.headline_keys else ""
    return f"{instrument.name}: {humanise(key).lower()}{suffix}"


@cache
def score_codings(code: str, key: str) -> tuple[dict, ...]:
    """LOINC first where the registry has a code, then the local score code."""
    out = []
    loinc = instruments.get(code).loinc.scores.get(key)
    if loinc:
        out.append(_coding(loinc))
    out.append({"system": codes.SCORE_SYSTEM, "code": f"{code}.{key}",
                "display": score_display(code, key)})
    return tuple(out)


@cache
def all_score_codes() -> tuple[tuple[str, str, tuple[dict, ...]], ...]:
    """``(instrument, key, codings)`` for every Observation code this server emits."""
    return tuple((i.code, key, score_codings(i.code, key))
                 for i in instruments.all_instruments() for key in observation_keys(i.code))


def _quantity(value, unit: str, ucum: str) -> dict:
    return {"value": Decimal(str(value)), "unit": unit, "system": codes.UCUM, "code": ucum}


def _value(value) -> dict | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float | Decimal):
        return {"valueQuantity": _quantity(value, "score", "{score}")}
    if isinstance(value, str):  # a Decimal stored as text
        try:
            return {"valueQuantity": _quantity(Decimal(value), "score", "{score}")}
        except ArithmeticError:
            return None
    return None


def observation_resource(response, key: str) -> Observation | None:
    """The Observation for one score of ``response`` (``None`` if the score is absent)."""
    data = observation_data(response, key)
    return None if data is None else Observation.model_validate(data)


def observation_data(response, key: str) -> dict | None:
    code = response.instrument
    raw = (response.scores or {}).get(key)
    component = []
    if isinstance(raw, Mapping):  # PROMIS: {raw, t_score, se}
        if raw.get("t_score") is None:
            return None
        value = {"valueQuantity": _quantity(raw["t_score"], "T-score", "{T-score}")}
        if isinstance(raw.get("raw"), int):
            component.append({"code": {"coding": [{"system": codes.SCORE_SYSTEM,
                                                   "code": f"{code}.{key}.raw",
                                                   "display": "Raw summed score"}]},
                              "valueInteger": raw["raw"]})
        if raw.get("se") is not None:
            component.append({"code": {"coding": [{"system": codes.SCORE_SYSTEM,
                                                   "code": f"{code}.{key}.se",
                                                   "display": "Standard error"}]},
                              "valueQuantity": _quantity(raw["se"], "T-score", "{T-score}")})
    else:
        value = _value(raw)
        if value is None:
            return None
    interpretation = []
    band_key = instruments.get(code).bands.get(key)  # the score that interprets this one
    band = (response.scores or {}).get(band_key) if band_key else None
    if isinstance(band, str) and band:
        interpretation.append({
            "coding": [{"system": codes.band_system(code, band_key), "code": band,
                        "display": humanise(band)}],
            "text": humanise(band),
        })
    codings = score_codings(code, key)
    return _clean({
        "resourceType": "Observation",
        "id": codes.observation_id(response.pk, key),
        "meta": meta(response.answered_at, "1"),
        "status": "final",
        "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "survey",
                                  "display": "Survey"}]}],
        "code": {"coding": [dict(c) for c in codings], "text": codings[0]["display"]},
        "subject": _patient_ref(response.patient_id),
        "effectiveDateTime": instant(response.answered_at),
        **value,
        "interpretation": interpretation,
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.pk}"}],
        "component": component,
    })


def observations_for(response, keys: Iterable[str] | None = None) -> list[Observation]:
    return [Observation.model_validate(data) for data in observations_data(response, keys)]


def observations_data(response, keys: Iterable[str] | None = None) -> list[dict]:
    keys = observation_keys(response.instrument) if keys is None else keys
    out = []
    for key in keys:
        data = observation_data(response, key)
        if data is not None:
            out.append(data)
    return out


# --- ServiceRequest (referrals) --------------------------------------------------------------

REFERRAL_STATUS = {
    "new": "active", "triaged": "active", "scheduled": "active", "in_treatment": "active",
    "discharged": "completed", "declined": "revoked", "cancelled": "revoked",
}


def fhir_referral_statuses(fhir_status: str) -> list[str]:
    return [ipm for ipm, fhir in REFERRAL_STATUS.items() if fhir == fhir_status]


def service_request_resource(referral) -> ServiceRequest:
    """Needs ``service``, ``referred_by`` and ``assignee`` (select_related)."""
    return ServiceRequest.model_validate(service_request_data(referral))


def service_request_data(referral) -> dict:
    service = referral.service
    identifier = ([{"system": referral.source_system, "value": referral.source_identifier}]
                  if referral.source_identifier else [])
    return _clean({
        "resourceType": "ServiceRequest",
        "id": str(referral.pk),
        "meta": meta(referral.updated_at),
        "extension": [{"url": codes.EXT_REFERRAL_STATUS, "valueCode": referral.status}],
        "identifier": identifier,
        "status": REFERRAL_STATUS.get(referral.status, "unknown"),
        "intent": "order",
        "priority": referral.priority,
        "code": {"coding": [{"system": codes.SERVICE_SYSTEM, "code": service.code,
                             "display": service.name}], "text": service.name},
        "subject": _patient_ref(referral.patient_id),
        "authoredOn": instant(referral.referred_at),
        # Sent in by another system: the sender; made here: the referring user.
        "requester": {"display": referral.source or _user_display(referral.referred_by)},
        "performerType": {"text": service.discipline},
        "performer": [{"display": _user_display(referral.assignee)}] if referral.assignee else [],
        "reasonCode": [{"text": referral.reason}] if referral.reason else [],
        "note": [{"text": referral.status_reason}] if referral.status_reason else [],
    })


# --- Appointment (group sessions) ------------------------------------------------------------

def _performer(user, code: str, display: str, required: str) -> dict:
    return {"type": [{"coding": [{"system": codes.PARTICIPATION_TYPE, "code": code,
                                  "display": display}]}],
            "actor": {"display": _user_display(user)}, "required": required,
            "status": "accepted"}


def appointment_resource(session, patients: Iterable) -> Appointment:
    """A group session: the enrolled ``patients`` and the lead clinician (primary performer)
    and facilitators (secondary performers). Needs ``series__service``,
    ``lead_clinician``, ``series__lead_clinician`` and prefetched ``facilitators``."""
    return Appointment.model_validate(appointment_data(session, patients))


def appointment_data(session, patients: Iterable) -> dict:
    series = session.series
    end = session.starts_at + timedelta(minutes=session.duration_minutes)
    if session.status == "cancelled":
        status = "cancelled"
    elif end <= timezone.now():
        status = "fulfilled"
    else:
        status = "booked"
    participants = [{"actor": _patient_ref(p.pk, p.full_name), "required": "required",
                     "status": "accepted"} for p in patients]
    lead = session.lead_clinician or series.lead_clinician
    if lead is not None:
        participants.append(_performer(lead, "PPRF", "primary performer", "required"))
    for facilitator in session.facilitators.all():
        participants.append(_performer(facilitator, "SPRF", "secondary performer", "optional"))
    if not participants:  # FHIR needs one participant; say the performer is still unknown
        participants.append({"type": [{"coding": [{"system": codes.PARTICIPATION_TYPE,
                                                   "code": "PPRF"}]}],
                             "status": "needs-action"})
    service = series.service
    return _clean({
        "resourceType": "Appointment",
        "id": str(session.pk),
        "status": status,
        "serviceType": [{"coding": [{"system": codes.SERVICE_SYSTEM, "code": service.code,
                                     "display": service.name}], "text": service.name}],
        "description": series.name,
        "start": instant(session.starts_at),
        "end": instant(end),
        "minutesDuration": session.duration_minutes,
        "comment": ", ".join(x for x in (series.location, series.video_link) if x) or None,
        "participant": participants,
    })


# --- Flag (safety alerts) --------------------------------------------------------------------

def flag_resource(alert) -> Flag:
    return Flag.model_validate(flag_data(alert))


def flag_data(alert) -> dict:
    display = alert.get_kind_display()
    return _clean({
        "resourceType": "Flag",
        "id": str(alert.pk),
        "meta": meta(alert.acknowledged_at or alert.opened_at,
                     "2" if alert.acknowledged_at else "1"),
        "status": "active" if alert.status == "open" else "inactive",
        "category": [{"coding": [{"system": codes.FLAG_CATEGORY, "code": "safety",
                                  "display": "Safety"}], "text": "Safety"}],
        "code": {"coding": [{"system": codes.ALERT_KIND_SYSTEM, "code": alert.kind,
                             "display": display}], "text": display},
        "subject": _patient_ref(alert.patient_id),
        "period": {"start": instant(alert.opened_at), "end": instant(alert.acknowledged_at)},
    })


# --- Bundle, OperationOutcome, CapabilityStatement -------------------------------------------

def searchset(*, entries: list[tuple[str, Any]], total: int | None, links: list[tuple[str, str]],
              included: list[tuple[str, Any]] = (), outcome: Any = None) -> Bundle:
    """``entries``/``included``: ``(fullUrl, resource model)`` (search modes match and
    include); ``outcome``: an OperationOutcome entry (mode outcome) warning the client, e.g.
    that its ``_count`` was cut to the cap; ``links``: ``(relation, url)``."""
    rows = [{"fullUrl": url, "resource": resource, "search": {"mode": "match"}}
            for url, resource in entries]
    rows += [{"fullUrl": url, "resource": resource, "search": {"mode": "include"}}
             for url, resource in included]
    if outcome is not None:
        rows.append({"resource": outcome, "search": {"mode": "outcome"}})
    return Bundle.model_validate(_clean({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(timezone.now()),
        "total": total,
        "link": [{"relation": rel, "url": url} for rel, url in links],
        "entry": rows,
    }))


def operation_outcome(message: str, *, code: str = "processing", severity: str = "error",
                      expression: list[str] | None = None,
                      issues: list[dict] | None = None) -> OperationOutcome:
    """One issue (``message``, naming the elements in ``expression``), or ``issues``:
    ``[{"message", "code", "severity", "expression"}]``."""
    rows = issues or [{"message": message, "code": code, "severity": severity,
                       "expression": expression}]
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [
        _clean({"severity": i.get("severity", severity), "code": i.get("code", code),
                "diagnostics": i["message"], "details": {"text": i["message"]},
                "expression": list(i.get("expression") or [])})
        for i in rows]})


def capability_statement(*, base_url: str, resources: list[dict]) -> CapabilityStatement:
    """``resources``: ``{"type", "read": bool, "search": [(name, type, documentation)],
    "create": bool, "include": [..], "revinclude": [..], "operations": [(name, url)],
    "conditional_read": bool}``."""
    rest_resources = []
    for spec in resources:
        interactions = ([{"code": "read"}] if spec.get("read") else []) + (
            [{"code": "search-type"}] if spec.get("search") is not None else []) + (
            [{"code": "create"}] if spec.get("create") else [])
        rest_resources.append(_clean({
            "type": spec["type"],
            "versioning": "versioned" if spec.get("versioned") else None,
            "readHistory": False if spec.get("versioned") else None,
            "conditionalRead": "not-match" if spec.get("versioned") else None,
            "interaction": interactions,
            "searchInclude": list(spec.get("include") or []),
            "searchRevInclude": list(spec.get("revinclude") or []),
            "searchParam": [{"name": name, "type": kind, "documentation": doc}
                            for name, kind, doc in spec.get("search") or []],
            "operation": [{"name": name, "definition": url}
                          for name, url in spec.get("operations") or []],
        }))
    return CapabilityStatement.model_validate(_clean({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(timezone.now()),
        "publisher": "IPM",
        "kind": "instance",
        "software": {"name": "IPM"},
        "implementation": {"description": "IPM FHIR API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": (
                "Reads and searches need a token (POST /api/auth/token/, then "
                "'Authorization: Token <token>') or a browser session, and the clinician or "
                "coordinator role; they show the patients of the reader's sites. Searches page "
                "with _count (at most 200: a larger _count is cut to 200 with a warning "
                "entry, search mode 'outcome') and _offset; _summary=count answers the total "
                "only; _sort takes _id, _lastUpdated and the type's date parameter "
                "(prefix '-' for descending); date parameters take the prefixes eq, ne, gt, "
                "lt, ge, le. Reads answer ETag (W/\"<versionId>\") and 304 to a matching "
                "If-None-Match. Only JSON is served: _format=xml (or any non-JSON format) is "
                "refused with 406. Referrals in: a service account with the 'integration' "
                "role may POST a ServiceRequest (or a transaction Bundle of Patient + "
                "ServiceRequest), and do nothing else; ServiceRequest.identifier makes "
                "retries safe (201, then 200 with the same id). Bulk Data: GET $export and "
                "Patient/$export with 'Prefer: respond-async'."),
            "security": {"description": "Token (Authorization: Token <token>) or session "
                                        "authentication; roles clinician or coordinator "
                                        "(reads), integration (referrals in)."},
            "resource": rest_resources,
            "interaction": [{"code": "transaction"}],
            "operation": [{"name": "export",
                           "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}],
        }],
    }))
