"""API authentication: `POST /api/auth/token/` and the tokens a person holds.

Tokens are django-rest-knox tokens: only a digest is stored, each expires
(`REST_KNOX["TOKEN_TTL"]`), and all of a user's end on password change or deactivation
(ipm.accounts). Clients send `Authorization: Token <token>` as before.
"""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import accounts
from .api import ErrorSerializer, error_body
from .throttling import TokenThrottle

# Same limit as User.username: longer input is refused before django-axes records the
# attempt (its username column is 255 characters).
USERNAME_MAX_LENGTH = 150


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(max_length=4096, trim_whitespace=False,
                                     style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class ApiTokenSerializer(serializers.Serializer):
    token_key = serializers.CharField(help_text="The token's first characters: its public id.")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.BooleanField(help_text="The token this request was made with.")


class ObtainTokenApi(APIView):
    """`POST {username, password}` → `{token, expiry}`; then send `Authorization: Token <token>`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]
    schema_conflicts = False  # ipm.openapi: nothing here can answer 409

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: ErrorSerializer, 401: ErrorSerializer,
                   429: ErrorSerializer},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)  # before axes sees the username
        user = authenticate(request=request._request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if user is None:
            # django-axes marks the request it saw; DRF's Request wraps Django's, so the
            # lock-out middleware cannot answer for us here.
            if getattr(request._request, "axes_locked_out", False):
                return Response(error_body("Too many failed attempts: locked for a while."),
                                status=429)
            return Response(error_body("Unable to log in with the username and password given.",
                                       {"non_field_errors": ["Unable to log in with the "
                                                             "username and password given."]}),
                            status=401, headers={"WWW-Authenticate": "Token"})
        instance, token = accounts.api_token_create(user=user)
        return Response({"token": token, "expiry": instance.expiry})


class ApiTokenListApi(APIView):
    """The caller's own live API tokens (never the secrets: only their public start)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ApiTokenSerializer(many=True)})
    def get(self, request):
        current = getattr(request.auth, "digest", None)  # None under session auth
        rows = [{"token_key": t.token_key, "created": t.created, "expiry": t.expiry,
                 "current": t.digest == current}
                for t in accounts.api_tokens_of(user=request.user)]
        return Response(ApiTokenSerializer(rows, many=True).data)


class ApiTokenRevokeApi(APIView):
    """Revoke one of the caller's own API tokens (404 for anyone else's)."""

    permission_classes = [IsAuthenticated]
    schema_conflicts = False

    @extend_schema(
        parameters=[OpenApiParameter("token_key", str, OpenApiParameter.PATH,
                                     description="`token_key` from the token list.")],
        responses={204: None, 404: ErrorSerializer},
    )
    def delete(self, request, token_key: str):
        if not accounts.api_token_revoke(user=request.user, token_key=token_key):
            return Response(error_body("Not found."), status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
