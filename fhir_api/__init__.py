"""A read-only FHIR R4 API over IPM's data, mounted at ``/fhir/``.

Resources: CapabilityStatement (``metadata``), Patient, Questionnaire (one per instrument),
QuestionnaireResponse, Observation (one per score), ServiceRequest (referrals), Appointment
(group sessions) and Flag (safety alerts); searches answer ``searchset`` Bundles.

FHIR version: the documents follow FHIR R4 (``fhirVersion`` 4.0.1). Every resource and
Bundle is built and validated with the pydantic models of ``fhir.resources.R4B``
(fhir.resources 8 ships R5 at the top level and R4B, not R4 proper); for the resources and
elements used here R4B and R4 are the same shape, so what validates as R4B is valid R4.

Layout: ``codes`` (systems, ids), ``search`` (parameter parsing, pure), ``resources`` (model
rows → FHIR models), ``selectors`` (queries), ``views`` (DRF views: auth, roles, audit,
paging, OperationOutcome errors), ``renderers``.

The ``/fhir/`` endpoints are excluded from the OpenAPI schema at ``/api/schema/``: their
contract is FHIR's, described by the CapabilityStatement at ``/fhir/metadata``.
"""
