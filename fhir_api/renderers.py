"""``application/fhir+json`` (the default) and ``application/json`` renderers, and content
negotiation that follows FHIR's ``_format`` instead of DRF's ``format``."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.mediatypes import media_type_matches, order_by_precedence

FHIR_JSON = "application/fhir+json"


class FHIRJSONRenderer(BaseRenderer):
    """Renders fhir.resources models with their own serialiser (which omits empty
    elements); plain dicts as JSON."""

    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if hasattr(data, "model_dump_json"):
            return data.model_dump_json().encode("utf-8")
        return json.dumps(data, cls=DjangoJSONEncoder).encode("utf-8")


class JSONRenderer(FHIRJSONRenderer):
    media_type = "application/json"
    format = "json"


_FORMATS = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, "application/json": "application/json"}


class FHIRContentNegotiation(BaseContentNegotiation):
    """``_format`` wins over ``Accept``; anything JSON-ish (or ``*/*``) gets FHIR JSON. A
    ``_format`` asking for anything else (``xml``, ``application/fhir+xml``, ``ttl``) is
    refused with 406 on every interaction (read, search, operation), as ``Accept`` is."""

    def select_renderer(self, request, renderers, format_suffix=None):
        asked = request.query_params.get("_format")
        wanted = _FORMATS.get(asked or "")
        if asked is not None and not wanted:
            raise NotAcceptable(f"Only JSON is served (_format=json); '{asked[:40]}' is not.")
        if wanted:
            for renderer in renderers:
                if renderer.media_type == wanted:
                    return renderer, renderer.media_type
        header = request.META.get("HTTP_ACCEPT", "*/*") or "*/*"
        accepts = [token.strip() for token in header.split(",") if token.strip()]
        for media_type_set in order_by_precedence(accepts):
            for renderer in renderers:
                for media_type in media_type_set:
                    if media_type_matches(renderer.media_type, media_type):
                        return renderer, renderer.media_type
        raise NotAcceptable("Only application/fhir+json and application/json are served.")

    def select_parser(self, request, parsers):
        return None
