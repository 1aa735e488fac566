"""API plumbing shared by every app: pagination, the single error shape, permissions."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, InvalidInput
from .pagination import CappedPaginator


def _whole(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()


class Pagination(PageNumberPagination):
    """`{count, next, previous, results}`; `?page=` and `?page_size=` (max 200).

    A page that is not a whole number from 1 is a 400 on `page`, a page size that is not a
    whole number from 1 to 200 a 400 on `page_size` (DRF would quietly use the default or
    the maximum instead); a page past the last is a 404 (ipm.openapi documents it on every
    paginated list)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        # `?page=` (present, empty) is refused like any other non-number, not read as 1.
        number = request.query_params.get(self.page_query_param, 1)
        if number in self.last_page_strings:
            return paginator.num_pages
        if not (_whole(str(number)) and int(number) >= 1):
            message = "The page must be a whole number from 1."
            raise InvalidInput(message, {self.page_query_param: [message]})
        return number

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (_whole(raw) and 1 <= int(raw) <= self.max_page_size):
            message = f"The page size must be a whole number from 1 to {self.max_page_size}."
            raise InvalidInput(message, {self.page_size_query_param: [message]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1,
                                       "maximum": self.max_page_size}
        return parameters


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


def error_body(message: str, errors: dict | None = None, detail: dict | None = None) -> dict:
    """The one error shape: a human message and per-field details.
    `detail` repeats the message for clients written against DRF's default, unless the
    error carries structured facts (e.g. {"caseload": 12})."""
    return {"message": message, "detail": detail if detail is not None else message,
            "errors": errors or {}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.message, exc.errors, getattr(exc, "detail", None)),
                        status=exc.status_code)
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
    detail = serializers.JSONField(help_text="The message again, or structured facts such as "
                                             '{"caseload": 12} on a refused deactivation.')
    errors = serializers.DictField(child=serializers.JSONField())


class CappedPagination(Pagination):
    """`Pagination` whose `count` stops at 1000 (ipm.pagination.CappedPaginator): for lists
    that can hold every patient. `next` keeps paging past it."""

    django_paginator_class = CappedPaginator

    def get_paginated_response_schema(self, schema):
        out = super().get_paginated_response_schema(schema)
        out["properties"]["count"]["description"] = (
            f"Matching rows, counted up to {CappedPaginator.cap}: {CappedPaginator.cap} "
            "means that many or more (follow `next`).")
        return out
