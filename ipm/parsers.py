"""JSON in, with a nesting limit: the one way request bodies are decoded (DRF's parser and
the patient-link page alike).

Python's decoder recurses once per nesting level, so a body of a few thousand `[` raises
RecursionError, which nothing maps to a 4xx: a 500 for anyone, anonymously on /q/. No IPM
body is deeper than a handful of levels (`{"answers": {code: {item: value}}}` is 3), so
anything deeper than MAX_JSON_DEPTH is refused as a parse error (400) before it reaches a
serializer, a service, the audit log or a jsonb column.
"""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than the limit (a ValueError, like any bad JSON)."""


def max_depth() -> int:
    return getattr(settings, "IPM_MAX_JSON_DEPTH", MAX_JSON_DEPTH)


def _check_depth(value, limit: int) -> None:
    """Walk the decoded value without recursion; raise JSONTooDeep past `limit` levels."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise JSONTooDeep(f"JSON nested deeper than {limit} levels.")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


def _no_constants(name):
    raise ValueError(f"Out of range float values are not JSON compliant: {name}")


def loads(text: str | bytes, *, limit: int | None = None, strict: bool = True):
    """json.loads that raises ValueError (JSONTooDeep) instead of RecursionError, and refuses
    documents nested deeper than `limit` (default: settings.IPM_MAX_JSON_DEPTH or 32).
    `strict` (DRF's STRICT_JSON) also refuses NaN and Infinity, as DRF does."""
    limit = max_depth() if limit is None else limit
    try:
        value = json.loads(text, parse_constant=_no_constants if strict else None)
    except RecursionError:
        raise JSONTooDeep(f"JSON nested deeper than {limit} levels.") from None
    _check_depth(value, limit)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the nesting limit; every other check stays DRF's."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}")
        try:
            return loads(text, strict=self.strict)
        except JSONTooDeep as exc:
            raise ParseError(str(exc))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}")
