"""Referrals in (SPEC §10): ``POST /fhir/ServiceRequest`` and ``POST /fhir/`` transaction
Bundles (Patient + ServiceRequest) from a service account with the ``integration`` role.

- Structure is checked by fhir.resources (R4B models): a resource that is not valid FHIR is
  a 400 OperationOutcome with one issue per problem, each naming its element
  (``ServiceRequest.status``).
- What IPM needs on top (an identifier, a known service, a patient with an MRN, a reason) is
  a 422 OperationOutcome naming the element.
- The patient is matched on the MRN identifier (system ``codes.mrn_system``) or created at
  the program's default site (``IPM_FHIR_DEFAULT_SITE``, else its first site); the referral
  enters the queue as ``new`` with ``source`` = the sender (``requester.display``, else the
  service account's name). The service is matched on ``code.coding[].code`` in any system.
- Idempotent on ``ServiceRequest.identifier``: a unique constraint on (system, value) makes
  a retry, or a concurrent duplicate, find the first referral (201 then 200, the same id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient as FHIRPatient
from fhir.resources.R4B.servicerequest import ServiceRequest as FHIRServiceRequest
from pydantic import ValidationError

from ipm.errors import Conflict, DomainError
from patients.models import Patient, Program, Site
from patients.services import patient_create
from referrals.models import Referral, Service
from referrals.services import referral_create

from . import codes

MODELS = {"ServiceRequest": FHIRServiceRequest, "Patient": FHIRPatient, "Bundle": Bundle}
URGENT = ("urgent", "asap", "stat")
SEX = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}
ATTEMPTS = 3  # a lost race is retried: the next attempt finds the winner's rows


class FHIRInputError(DomainError):
    """400 (structure) or 422 (IPM's rules) with an OperationOutcome: ``issues`` are
    ``{"message", "expression": [element], "code"}``."""

    def __init__(self, issues: list[dict], *, status: int = 422, code: str = "processing"):
        self.status_code = status
        self.issue_code = code
        self.issues = [{"code": code, "severity": "error", **i} for i in issues]
        message = "; ".join(i["message"] for i in issues)
        super().__init__(message, {e: [i["message"]] for i in issues
                                   for e in i.get("expression", [])})


def unprocessable(element: str, message: str) -> FHIRInputError:
    return FHIRInputError([{"message": f"{element}: {message}", "expression": [element]}])


# --- parsing -----------------------------------------------------------------------------

def parse_body(body: bytes, content_type: str, *, expected: tuple[str, ...]):
    """The posted resource as its R4B model (400 for non-JSON or invalid FHIR)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ("application/fhir+json", "application/json"):
        raise FHIRInputError([{"message": "Send FHIR JSON (Content-Type: "
                                          "application/fhir+json)."}],
                             status=415, code="not-supported")
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise FHIRInputError([{"message": "The body is not JSON."}], status=400,
                             code="structure")
    if not isinstance(data, dict) or data.get("resourceType") not in expected:
        raise FHIRInputError([{"message": f"Expected a {' or '.join(expected)} resource.",
                               "expression": ["resourceType"]}], status=400, code="structure")
    return validate(data)


def validate(data: dict):
    resource_type = data["resourceType"]
    try:
        return MODELS[resource_type].model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors()[:20]:
            path = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
            element = f"{resource_type}.{path}" if path else resource_type
            issues.append({"message": f"{element}: {error.get('msg', 'invalid')}",
                           "expression": [element]})
        raise FHIRInputError(issues or [{"message": f"Invalid {resource_type}."}],
                             status=400, code="structure")


# --- what IPM needs from the resources ---------------------------------------------------

@dataclass(frozen=True)
class PatientIn:
    mrn: str
    given_name: str
    family_name: str
    birth_date: str
    sex: str
    email: str
    phone: str


@dataclass(frozen=True)
class ReferralIn:
    system: str
    value: str
    service: Service
    reason: str
    priority: str
    source: str


def mrn_system() -> str:
    return codes.mrn_system(Program.default().slug)


def patient_in(resource: FHIRPatient, element: str = "Patient") -> PatientIn:
    system = mrn_system()
    mrn = next((i.value for i in resource.identifier or [] if i.system == system and i.value),
               None)
    if not mrn:
        raise unprocessable(f"{element}.identifier",
                            f"needs the MRN, an identifier with system '{system}'.")
    name = (resource.name or [None])[0]
    family = (name.family if name else "") or ""
    given = " ".join(name.given or []) if name else ""
    if not family or not given:
        raise unprocessable(f"{element}.name", "needs a family and a given name.")
    if resource.birthDate is None:
        raise unprocessable(f"{element}.birthDate", "is required.")
    telecom = resource.telecom or []
    email = next((t.value for t in telecom if t.system == "email" and t.value), "")
    phone = next((t.value.replace(" ", "") for t in telecom
                  if t.system in ("phone", "sms") and t.value), "")
    return PatientIn(mrn=mrn[:64], given_name=given[:100], family_name=family[:100],
                     birth_date=str(resource.birthDate), sex=SEX.get(resource.gender or "",
                                                                     "unknown"),
                     email=email, phone=phone if phone.startswith("+") else "")


def referral_in(resource: FHIRServiceRequest, *, account) -> ReferralIn:
    element = "ServiceRequest"
    identifier = next((i for i in resource.identifier or [] if i.value), None)
    if identifier is None:
        raise unprocessable(f"{element}.identifier",
                            "is required: the sender's id for this request makes a retry "
                            "safe.")
    if resource.status not in ("active", "draft"):
        raise unprocessable(f"{element}.status", "a referral in must be 'active'.")
    if resource.intent not in ("order", "original-order", "plan", "proposal"):
        raise unprocessable(f"{element}.intent", "must be 'order' (or original-order, plan, "
                                                 "proposal).")
    wanted = [c.code for c in (resource.code.coding or [])] if resource.code else []
    services = {s.code: s for s in Service.objects.filter(code__in=wanted, active=True)}
    service = next((services[c] for c in wanted if c in services), None)
    if service is None:
        known = ", ".join(Service.objects.filter(active=True).order_by("code")
                          .values_list("code", flat=True))
        raise unprocessable(f"{element}.code",
                            f"no active service has the code {', '.join(wanted) or '(none)'};"
                            f" known codes: {known}.")
    reasons = [c.text or next((x.display for x in c.coding or [] if x.display), None)
               for c in resource.reasonCode or []]
    reasons += [n.text for n in resource.note or []]
    reason = "; ".join(r for r in reasons if r)
    if not reason:
        raise unprocessable(f"{element}.reasonCode", "a referral needs a reason (reasonCode "
                                                     "text, or a note).")
    requester = resource.requester.display if resource.requester else None
    source = (requester or account.get_full_name() or account.username)[:200]
    system = identifier.system or f"{codes.SENDER_SYSTEM_PREFIX}{account.username}"
    return ReferralIn(system=system[:255], value=identifier.value[:255], service=service,
                      reason=reason, source=source,
                      priority="urgent" if resource.priority in URGENT else "routine")


# --- the write ---------------------------------------------------------------------------

def _default_site(program: Program) -> Site:
    code = getattr(settings, "IPM_FHIR_DEFAULT_SITE", "")
    site = program.sites.filter(code=code).first() if code else None
    return site or program.sites.order_by("pk").first()


def _patient_for(incoming: PatientIn, *, actor) -> Patient:
    program = Program.default()
    found = Patient.objects.filter(program=program, mrn=incoming.mrn).first()
    if found is not None:
        return found
    channel = "email" if incoming.email else ("sms" if incoming.phone else "none")
    try:
        return patient_create(actor=actor, program=program, site=_default_site(program),
                              clinician=None, mrn=incoming.mrn,
                              given_name=incoming.given_name,
                              family_name=incoming.family_name,
                              birth_date=incoming.birth_date, sex=incoming.sex,
                              email=incoming.email, phone=incoming.phone,
                              preferred_channel=channel, consent_to_contact=False)
    except Conflict:
        raise
    except DomainError as exc:  # a detail IPM cannot store (an e-mail address, a date)
        raise FHIRInputError([{"message": f"Patient: {exc.message} ({field}: {'; '.join(map(str, msgs))})",
                               "expression": [f"Patient.{_PATIENT_ELEMENTS.get(field, field)}"]}
                              for field, msgs in (exc.errors or {"": [exc.message]}).items()])


_PATIENT_ELEMENTS = {"email": "telecom", "phone": "telecom", "birth_date": "birthDate",
                     "given_name": "name", "family_name": "name", "mrn": "identifier"}


def _receive_one(*, incoming: ReferralIn, patient: Patient | PatientIn, actor,
                 ) -> tuple[Referral, bool]:
    existing = Referral.objects.filter(source_system=incoming.system,
                                       source_identifier=incoming.value).first()
    if existing is not None:
        return existing, False
    if isinstance(patient, PatientIn):
        patient = _patient_for(patient, actor=actor)
    referral = referral_create(patient=patient, service=incoming.service, reason=incoming.reason,
                               priority=incoming.priority, actor=actor,
                               source=incoming.source, source_system=incoming.system,
                               source_identifier=incoming.value)
    return referral, True


def with_retries(work):
    """Run ``work()`` in one transaction; a unique-key race lost to a concurrent request
    (the same ServiceRequest, or the same new patient) rolls back and runs again, and the
    next attempt finds what the winner committed."""
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return work()
        except (IntegrityError, Conflict):
            if attempt == ATTEMPTS - 1:
                raise Conflict("A concurrent request for the same referral or patient kept "
                               "winning; send it again.")
    raise AssertionError("unreachable")  # pragma: no cover


def _subject(resource: FHIRServiceRequest, *, patients: dict[str, PatientIn]):
    """The ServiceRequest's patient: an existing one (``Patient/<id>`` or an MRN
    identifier), or the details to match or create (a contained Patient, or a Bundle
    entry's ``fullUrl``)."""
    element = "ServiceRequest.subject"
    subject = resource.subject
    ref = subject.reference or ""
    if ref in patients:
        return patients[ref]
    if ref.startswith("#"):
        contained = next((c for c in resource.contained or []
                          if c.get_resource_type() == "Patient" and c.id == ref[1:]), None)
        if contained is None:
            raise unprocessable(element, f"no contained Patient '{ref}'.")
        return patient_in(contained, "ServiceRequest.contained")
    if ref.startswith("Patient/") and ref[8:].isdigit():
        found = Patient.objects.filter(pk=int(ref[8:])).first()
        if found is None:
            raise unprocessable(element, f"no patient {ref}.")
        return found
    if subject.identifier is not None and subject.identifier.value:
        system = mrn_system()
        if subject.identifier.system not in (None, system):
            raise unprocessable(f"{element}.identifier", f"use the MRN system '{system}'.")
        found = Patient.objects.filter(program=Program.default(),
                                       mrn=subject.identifier.value).first()
        if found is None:
            raise unprocessable(element, "no patient has this MRN: send a transaction Bundle "
                                         "with the Patient, or a contained Patient.")
        return found
    raise unprocessable(element, "reference the Patient (a contained '#id', a Bundle entry's "
                                 "fullUrl, Patient/<id>, or an MRN identifier).")


def service_request_receive(*, resource: FHIRServiceRequest, actor) -> tuple[Referral, bool]:
    """``(referral, created)`` for one posted ServiceRequest."""
    incoming = referral_in(resource, account=actor)
    patient = _subject(resource, patients={})
    return with_retries(lambda: _receive_one(incoming=incoming, patient=patient, actor=actor))


@dataclass
class EntryResult:
    resource_type: str
    obj: object
    created: bool


def transaction_receive(*, bundle: Bundle, actor) -> list[EntryResult]:
    """A transaction Bundle of Patients and ServiceRequests, all or nothing; results in
    entry order."""
    if bundle.type != "transaction":
        raise FHIRInputError([{"message": "Bundle.type: only 'transaction' Bundles are "
                                          "accepted here.", "expression": ["Bundle.type"]}])
    entries = bundle.entry or []
    patients: dict[str, PatientIn] = {}
    planned: list[tuple[str, object]] = []
    for n, entry in enumerate(entries):
        element = f"Bundle.entry[{n}]"
        resource = entry.resource
        kind = resource.get_resource_type() if resource is not None else None
        if entry.request is not None and entry.request.method not in ("POST", "PUT"):
            raise unprocessable(f"{element}.request.method", "only POST (or PUT) is accepted.")
        if kind == "Patient":
            incoming = patient_in(resource, f"{element}.resource")
            for key in filter(None, (entry.fullUrl, f"Patient/{resource.id}" if resource.id
                                     else None)):
                patients[key] = incoming
            planned.append(("Patient", incoming))
        elif kind == "ServiceRequest":
            planned.append(("ServiceRequest", resource))
        else:
            raise unprocessable(f"{element}.resource",
                                "only Patient and ServiceRequest entries are accepted.")
    if not any(kind == "ServiceRequest" for kind, _ in planned):
        raise unprocessable("Bundle.entry", "holds no ServiceRequest.")
    prepared = []
    for kind, item in planned:
        if kind == "ServiceRequest":
            prepared.append((kind, referral_in(item, account=actor),
                             _subject(item, patients=patients)))
        else:
            prepared.append((kind, item, None))

    def work() -> list[EntryResult]:
        results = []
        for kind, item, subject in prepared:
            if kind == "Patient":
                existed = Patient.objects.filter(program=Program.default(),
                                                 mrn=item.mrn).exists()
                results.append(EntryResult("Patient", _patient_for(item, actor=actor),
                                           not existed))
            else:
                referral, created = _receive_one(incoming=item, patient=subject, actor=actor)
                results.append(EntryResult("ServiceRequest", referral, created))
        return results

    return with_retries(work)
