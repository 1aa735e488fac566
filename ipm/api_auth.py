from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from .api import ErrorSerializer, error_body


class TokenThrottle(AnonRateThrottle):
    scope = "token"


class ObtainTokenApi(ObtainAuthToken):
    """`POST {username, password}` → `{token}`; then send `Authorization: Token <token>`."""

    throttle_classes = [TokenThrottle]
    schema_conflicts = False  # ipm.openapi: nothing here can answer 409

    @extend_schema(
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(),
                                                   "password": serializers.CharField()}),
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: ErrorSerializer, 401: ErrorSerializer, 429: ErrorSerializer,
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError as exc:
            # django-axes marks the request it saw; DRF's Request wraps Django's, so the
            # lock-out middleware cannot answer for us here.
            if getattr(request, "axes_locked_out", False) or getattr(
                    request._request, "axes_locked_out", False):
                return Response(error_body("Too many failed attempts: locked for a while."),
                                status=429)
            detail = exc.detail if isinstance(exc.detail, dict) else {}
            if "non_field_errors" in detail:
                # Both fields given but the credentials are wrong: an authentication failure.
                return Response(error_body("Unable to log in with the username and password "
                                           "given.", detail), status=401,
                                headers={"WWW-Authenticate": "Token"})
            raise
