"""OpenAPI generation (drf-spectacular) that documents the error answers every endpoint can
give, so the schema at /api/schema/ is truthful without each view repeating them.

Errors all have one shape (``ipm.api.ErrorSerializer``: ``{message, detail, errors}``).
Which statuses an operation documents follows from what it is:

- 400 invalid input: it takes a request body or query parameters;
- 401 / 403: it needs authentication (403: role checks, CSRF for session writes);
- 404: it has path parameters, or it is a paginated list (a page past the last);
- 409 conflict: it changes state (POST/PUT/PATCH/DELETE), unless the view sets
  ``schema_conflicts = False`` (nothing there can conflict);
- 415 unsupported media type: it takes a request body;
- 429: the view is throttled.

A view can still document any of these itself (``@extend_schema(responses={...})``); what it
documents is kept.
"""

from drf_spectacular import openapi

from .api import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` holds the messages per field.",
    "401": "Not authenticated: send `Authorization: Token <token>` or log in.",
    "403": "Authenticated, but the user's role does not allow this.",
    "404": "Not found (or, for a list, a page past the last).",
    "409": "Conflict with the current state (invalid transition, duplicate, lost race).",
    "415": "Unsupported media type: send JSON.",
    "429": "Too many requests: wait and retry.",
}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self.error_statuses(operation):
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return operation

    def error_statuses(self, operation: dict) -> list[str]:
        params = operation.get("parameters", [])
        has_body = "requestBody" in operation
        security = operation.get("security", [])
        needs_auth = bool(security) and {} not in security
        out = []
        if has_body or any(p.get("in") == "query" for p in params):
            out.append("400")
        if needs_auth:
            out += ["401", "403"]
        if any(p.get("in") == "path" for p in params) or self._paginated_list():
            out.append("404")
        if self.method in UNSAFE and getattr(self.view, "schema_conflicts", True):
            out.append("409")
        if has_body:
            out.append("415")
        if self.view.get_throttles():
            out.append("429")
        return out

    def _paginated_list(self) -> bool:
        return (self.method == "GET" and self._is_list_view()
                and self._get_paginator() is not None)
