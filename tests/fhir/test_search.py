"""FHIR search parameter parsing: dates with prefixes and precision, tokens, references."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from fhir_api import search

LONDON = ZoneInfo("Europe/London")
UTC = UTC


@pytest.mark.parametrize(("value", "prefix", "lower", "upper"), [
    ("2024", "eq", datetime(2024, 1, 1, tzinfo=LONDON), datetime(2025, 1, 1, tzinfo=LONDON)),
    ("le2024-02", "le", datetime(2024, 2, 1, tzinfo=LONDON), datetime(2024, 3, 1, tzinfo=LONDON)),
    ("gt2024-12-31", "gt", datetime(2024, 12, 31, tzinfo=LONDON),
     datetime(2025, 1, 1, tzinfo=LONDON)),
    ("ge2024-06-01T10:30Z", "ge", datetime(2024, 6, 1, 10, 30, tzinfo=UTC),
     datetime(2024, 6, 1, 10, 31, tzinfo=UTC)),
    ("2024-06-01T10:30:15+02:00", "eq",
     datetime(2024, 6, 1, 10, 30, 15, tzinfo=timezone(timedelta(hours=2))),
     datetime(2024, 6, 1, 10, 30, 16, tzinfo=timezone(timedelta(hours=2)))),
    ("lt2024-06-01T10:30:15.5", "lt", datetime(2024, 6, 1, 10, 30, 15, 500000, tzinfo=LONDON),
     datetime(2024, 6, 1, 10, 30, 15, 600000, tzinfo=LONDON)),
])
def test_it_reads_a_date_as_a_range(value, prefix, lower, upper):
    parsed = search.parse_date(value, LONDON, param="date")
    assert (parsed.prefix, parsed.lower, parsed.upper) == (prefix, lower, upper)


@pytest.mark.parametrize(("value", "issue"), [
    ("2024-02-30", "invalid"), ("2024-13", "invalid"), ("24-01-01", "invalid"),
    ("2024-01-01T25:00Z", "invalid"), ("2024-01-01T10:00+25:00", "invalid"),
    ("yesterday", "invalid"), ("ap2024", "not-supported"), ("sa2024", "not-supported"),
])
def test_it_refuses_bad_dates(value, issue):
    with pytest.raises(search.SearchError) as caught:
        search.parse_date(value, LONDON, param="date")
    assert caught.value.issue_code == issue
    assert caught.value.status_code == 400


def test_it_reads_tokens():
    assert search.tokens("http://loinc.org|44261-6,|x,sys|,bare", param="code") == [
        search.Token("http://loinc.org", "44261-6"), search.Token("", "x"),
        search.Token("sys", None), search.Token(None, "bare")]
    assert search.token_matches(search.Token(None, "a"), "any", "a")
    assert not search.token_matches(search.Token("", "a"), "sys", "a")
    assert search.token_matches(search.Token("sys", None), "sys", "b")


@pytest.mark.parametrize(("value", "ids"), [
    ("12", [12]), ("Patient/12", [12]), ("https://h.example/fhir/Patient/12", [12]),
    ("12,13", [12, 13]), ("abc", []),
])
def test_it_reads_patient_references(value, ids):
    assert search.reference_ids(value, "Patient", param="patient") == ids


@pytest.mark.parametrize("value", ["Group/1", "Patient/", "a b", ""])
def test_it_refuses_other_references(value):
    with pytest.raises(search.SearchError):
        search.reference_ids(value, "Patient", param="patient")


@pytest.mark.parametrize(("query", "count", "offset"), [
    ("", 20, 0), ("_count=5&_offset=10", 5, 10), ("_count=0", 0, 0), ("_count=999", 200, 0),
])
def test_it_reads_paging(query, count, offset):
    assert search.paging(QueryDict(query)) == search.Paging(count=count, offset=offset)


def test_it_refuses_unknown_parameters_and_modifiers():
    search.check_params(QueryDict("patient=1&_count=2&_format=json"), ("patient",))
    for query in ("colour=red", "patient:missing=true", "_sort=date", "_format=xml"):
        with pytest.raises(search.SearchError):
            search.check_params(QueryDict(query), ("patient",))
