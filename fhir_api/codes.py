"""Code systems, identifier systems and resource ids used by the FHIR API.

Local systems live under one stable base (``BASE``, setting ``IPM_FHIR_BASE``), independent
of the host that serves the API, so that codes and canonical URLs stay the same across a
deployment's hosts. The MRN identifier system is the partner systems' (setting
``IPM_FHIR_MRN_SYSTEM``; by default one system per program under ``BASE``): referrals in
are matched on it and every Patient carries it.

FHIR ids allow only ``[A-Za-z0-9-.]``; instrument codes and score keys use ``_``
(``promis_gh``, ``physical_function``), so ids spell ``_`` as ``-`` and both spellings are
accepted when reading.
"""

from __future__ import annotations

import re

from django.conf import settings

BASE = getattr(settings, "IPM_FHIR_BASE", "") or "https://ipm.example/fhir"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

SCORE_SYSTEM = f"{BASE}/CodeSystem/score"  # "<instrument>.<key>"
ANSWER_SYSTEM_PREFIX = f"{BASE}/CodeSystem/answers/"  # + instrument id; code = stored value
SERVICE_SYSTEM = f"{BASE}/CodeSystem/service"
ALERT_KIND_SYSTEM = f"{BASE}/CodeSystem/safety-alert"
MRN_SYSTEM_PREFIX = f"{BASE}/sid/mrn/"  # + program slug (MRNs are unique per program)
QUESTIONNAIRE_URL_PREFIX = f"{BASE}/Questionnaire/"
EXT_INSTRUMENT_VERSION = f"{BASE}/StructureDefinition/instrument-version"
EXT_REFERRAL_STATUS = f"{BASE}/StructureDefinition/referral-status"
EXT_ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

def to_fhir_id(value: str) -> str:
    return value.replace("_", "-")


def from_fhir_id(value: str) -> str:
    return value.replace("-", "_")


def mrn_system(program_slug: str) -> str:
    """The MRN identifier system: the deployment's (``IPM_FHIR_MRN_SYSTEM``) or the
    program's own under ``BASE``."""
    return getattr(settings, "IPM_FHIR_MRN_SYSTEM", "") or f"{MRN_SYSTEM_PREFIX}{program_slug}"


LETTER_TYPE_SYSTEM = "http://loinc.org"
# LOINC document types of the letters: intake (consult note) and discharge summary.
LETTER_TYPES = {"intake": ("11488-4", "Consult note"),
                "discharge": ("18842-5", "Discharge summary")}
SENDER_SYSTEM_PREFIX = "urn:ipm:sender:"  # + username: identifiers sent without a system


def questionnaire_url(instrument_code: str) -> str:
    return f"{QUESTIONNAIRE_URL_PREFIX}{to_fhir_id(instrument_code)}"


def answer_system(instrument_code: str) -> str:
    return f"{ANSWER_SYSTEM_PREFIX}{to_fhir_id(instrument_code)}"


def band_system(instrument_code: str, band_key: str) -> str:
    """The code system of one instrument's bands, e.g. ``.../CodeSystem/phq9-severity``."""
    return f"{BASE}/CodeSystem/{to_fhir_id(instrument_code)}-{to_fhir_id(band_key)}"


def observation_id(response_id: int, score_key: str) -> str:
    """``"<response id>-<score key>"`` with the key's ``_`` spelled ``-``."""
    return f"{response_id}-{to_fhir_id(score_key)}"


def parse_observation_id(value: str) -> tuple[int, str] | None:
    """``(response id, score key)`` or ``None`` when ``value`` is not an Observation id."""
    match = re.fullmatch(r"(\d{1,18})-([A-Za-z0-9_\-]{1,45})", value)
    if not match:
        return None
    return int(match.group(1)), from_fhir_id(match.group(2))
