"""ipm.openapi.AutoSchema: every operation documents the error answers it can give, in the
one error shape, so clients (and the Schemathesis contract test) can rely on the schema."""

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ipm import roles
from ipm.api_auth import TokenThrottle


class ThingSerializer(serializers.Serializer):
    name = serializers.CharField()


class ThingApi(APIView):
    permission_classes = [roles.HasRole]
    serializer_class = ThingSerializer

    def get(self, request, thing):
        return Response({"name": "x"})

    def post(self, request, thing):
        return Response({"name": "x"})


class OpenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]
    schema_conflicts = False
    serializer_class = ThingSerializer

    def post(self, request):
        return Response({"name": "x"})


def operations():
    generator = SchemaGenerator(patterns=[path("api/things/<int:thing>/", ThingApi.as_view()),
                                          path("api/open/", OpenApi.as_view())])
    return generator.get_schema(request=None, public=True)


def statuses(schema, route, method):
    return set(schema["paths"][route][method]["responses"])


@pytest.mark.parametrize(("route", "method", "expected"), [
    ("/api/things/{thing}/", "get", {"200", "401", "403", "404"}),
    ("/api/things/{thing}/", "post", {"200", "400", "401", "403", "404", "409", "415"}),
    ("/api/open/", "post", {"200", "400", "415", "429"}),
])
def test_it_documents_the_errors_each_operation_can_answer(route, method, expected):
    assert statuses(operations(), route, method) == expected


def test_it_documents_errors_in_the_one_error_shape():
    schema = operations()
    response = schema["paths"]["/api/things/{thing}/"]["get"]["responses"]["404"]
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"message", "detail",
                                                                         "errors"}


def test_it_keeps_what_a_view_documents_itself(api):
    token = api.get("/api/schema/?format=json").json()["paths"]["/api/auth/token/"]["post"]
    assert token["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TokenResponse"}
    assert "409" not in token["responses"]  # the token view declares it cannot conflict
