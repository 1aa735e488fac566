import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_reports_database_and_broker():
    r = Client().get("/healthz")
    body = r.json()
    assert body["database"] == "ok"
    assert "broker" in body
    assert r.status_code == (200 if body["broker"] == "ok" else 503)
