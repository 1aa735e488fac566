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


# --- plumbing the contract relies on -------------------------------------------------------

class PagedApi(APIView):
    permission_classes = [roles.HasRole]

    def get(self, request):
        from ipm.api import Pagination

        paginator = Pagination()
        page = paginator.paginate_queryset(list(range(30)), request, view=self)
        return paginator.get_paginated_response(page)


@pytest.mark.parametrize(("page", "status"), [("1", 200), ("2", 200), ("last", 200),
                                              ("0", 400), ("-3", 400), ("x", 400),
                                              ("99", 404)])
def test_it_answers_bad_pages_with_400_and_pages_past_the_end_with_404(rf, clinician, page,
                                                                       status):
    from rest_framework.test import force_authenticate

    request = rf.get("/api/paged/", {"page": page})
    force_authenticate(request, user=clinician)
    response = PagedApi.as_view()(request)
    assert response.status_code == status
    if status == 400:
        assert response.data["errors"] == {"page": ["The page must be a whole number from 1."]}


def test_it_documents_page_bounds_and_the_404_of_paginated_lists():
    from rest_framework.generics import ListAPIView

    class ListApi(ListAPIView):
        permission_classes = [roles.HasRole]
        serializer_class = ThingSerializer

        def get_queryset(self):  # pragma: no cover - schema only
            return []

    schema = SchemaGenerator(patterns=[path("api/list/", ListApi.as_view())]).get_schema(
        request=None, public=True)
    operation = schema["paths"]["/api/list/"]["get"]
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert params["page"] == {"type": "integer", "minimum": 1}
    assert params["page_size"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert "404" in operation["responses"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body", "content_type", "status"), [
    ("get", "/api/auth/token/?q=%00", None, None, 400),
    ("post", "/api/auth/token/", '{"username": "a\\u0000", "password": "x"}',
     "application/json", 400),
    ("post", "/api/auth/token/", "username=a%00&password=x",
     "application/x-www-form-urlencoded", 400),
    ("get", "/api/patients/%00/", None, None, 404),
])
def test_it_refuses_nul_characters_before_they_reach_postgresql(client, method, url, body,
                                                                content_type, status):
    kwargs = {"content_type": content_type} if content_type else {}
    response = getattr(client, method)(url, body, **kwargs) if body else getattr(
        client, method)(url)
    assert response.status_code == status
    assert response.json()["message"]


@pytest.mark.django_db
def test_it_lets_ordinary_percent_signs_through(client):
    response = client.post("/api/auth/token/", '{"username": "100%00", "password": "x"}',
                           content_type="application/json")
    assert response.status_code == 401  # wrong credentials, judged by the view
    assert "NUL" not in response.json()["message"]


@pytest.mark.django_db
def test_it_lets_the_text_backslash_u0000_through_outside_json(client):
    """In a form, `\\u0000` is six ordinary characters, not JSON's escape of NUL."""
    response = client.post("/api/auth/token/", {"username": "a\\u0000", "password": "x"})
    assert response.status_code == 401  # wrong credentials, judged by the view
    assert "NUL" not in response.json()["message"]
