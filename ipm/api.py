"""API plumbing shared by every app: pagination, the single error shape, permissions."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


class Pagination(PageNumberPagination):
    """`{count, next, previous, results}`; `?page=` and `?page_size=` (max 200)."""

    page_size_query_param = "page_size"
    max_page_size = 200


def _message_from(detail) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail:
        return _message_from(detail[0])
    if isinstance(detail, dict):
        if "non_field_errors" in detail:
            return _message_from(detail["non_field_errors"])
        return "Invalid input: " + ", ".join(str(k) for k in detail) + "."
    return str(detail)


def error_body(message: str, errors: dict | None = None) -> dict:
    """The one error shape: a human message and per-field details.
    `detail` repeats the message for clients written against DRF's default."""
    return {"message": message, "detail": message, "errors": errors or {}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.message, exc.errors), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(_message_from(errors), errors)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(str(detail) or "Error.", {})
    return response


class ErrorSerializer(serializers.Serializer):
    """Documented error shape for the OpenAPI schema."""

    message = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.JSONField())
