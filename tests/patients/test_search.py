"""The patient search (name or MRN prefix, any case) and its paging: the same answers as a
plain filter, in list order, and on PostgreSQL a plan an index serves at any size."""

import json
import random
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from ipm.pagination import CappedPaginator
from patients import selectors
from patients.models import Patient, Program, Site
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

GIVEN = ["Maya", "Tom", "Aisha", "Liam", "Sofia", "Kwame", "Hannah", "Yusuf", "Grace", "Ben",
         "Chloe", "Ravi", "Emma", "Jonas", "Priya", "Daniel", "Olga", "Mateo", "Zara", "Finn"]
FAMILY = ["Patel", "Fletcher", "Khan", "OBrien", "Rossi", "Mensah", "Schmidt", "Demir",
          "Okafor", "Carter", "Martin", "Sharma", "Lewis", "Berg", "Iyer", "Cohen", "Novak",
          "Silva", "Ahmed", "Murphy"]


def add_patients(n, *, site=None, names=None, seed=3):
    """n patients at `site` (default: the first), names drawn like the scale data's."""
    rng = random.Random(seed)  # nosec B311 - test data
    program = Program.default()
    site = site or program.sites.order_by("pk").first()
    start = Patient.objects.count()
    rows = []
    for i in range(n):
        given, family = names[i] if names else (rng.choice(GIVEN), rng.choice(FAMILY))
        rows.append(Patient(program=program, site=site, mrn=f"S{start + i:08d}",
                            given_name=given, family_name=family,
                            birth_date=date(1970, 1, 1)))
    return Patient.objects.bulk_create(rows, batch_size=2000)


def names_of(qs):
    return [(p.family_name, p.given_name) for p in qs]


def reference(q, rows):
    """What the search means, spelled out in Python: an MRN starting with the query, or a
    given or family name starting with one of its words, any case; by name keys, then id."""
    words = [w.upper() for w in q.split()]
    hit = [p for p in rows
           if p.mrn.upper().startswith(q.upper())
           or any(p.given_name.upper().startswith(w) or p.family_name.upper().startswith(w)
                  for w in words)]
    return sorted(hit, key=lambda p: (p.family_name.upper(), p.given_name.upper(), p.pk))


@pytest.mark.parametrize("q", ["Patel", "patel", "PAT", "Maya", "m", "Maya Patel",
                               "maya pat", "S0000001", "s00000", "Zz", "Iy"])
def test_it_finds_what_a_plain_filter_finds_in_list_order(clinician, q):
    add_patients(300, names=None)
    add_patients(4, names=[("maya", "patel-smith"), ("MAYANK", "de Souza"),
                           ("Tomás", "PATELLA"), ("Amy", "mcdonald")])
    rows = list(Patient.objects.all())
    got = list(selectors.patient_list(user=clinician, q=q))
    assert [p.pk for p in got] == [p.pk for p in reference(q, rows)]
    # A page is the same slice of that order.
    assert [p.pk for p in selectors.patient_list(user=clinician, q=q)[5:15]] == \
        [p.pk for p in reference(q, rows)[5:15]]


def test_it_takes_like_wildcards_in_the_query_literally(clinician):
    add_patients(3, names=[("Ann", "O_Hara"), ("Ann", "Ochoa"), ("Ann", "100%")])
    assert names_of(selectors.patient_list(user=clinician, q="O_")) == [("O_Hara", "Ann")]
    assert names_of(selectors.patient_list(user=clinician, q="100%")) == [("100%", "Ann")]
    assert selectors.patient_list(user=clinician, q="%").count() == 0


def test_the_search_keeps_site_scoping_filters_and_the_caseload(clinician):
    program = Program.default()
    east = Site.objects.create(program=program, name="East", code="east")
    add_patients(5, names=[("Maya", "Patel")] * 5)
    add_patients(5, site=east, names=[("Maya", "Patel")] * 5, seed=4)
    mine = Patient.objects.filter(site=program.sites.order_by("pk").first()).first()
    Patient.objects.filter(pk=mine.pk).update(clinician=clinician, risk_group="high")
    found = selectors.patient_list(user=clinician, q="Patel")
    assert found.count() == 5 and {p.site_id for p in found} == {mine.site_id}
    assert [p.pk for p in selectors.patient_list(user=clinician, q="maya", mine=True)] == [mine.pk]
    assert [p.pk for p in selectors.patient_list(user=clinician, q="pat",
                                                 risk_group="high")] == [mine.pk]


def test_a_capped_search_pages_on_past_the_cap(clinician, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 20)
    add_patients(45, names=[("Maya", f"Patel{i:02d}") for i in range(45)])
    c = Client()
    c.force_login(clinician)
    first = c.get("/patients/?q=patel&page_size=10")
    assert b"20+ patients" in first.content and b"Page 1</span>" in first.content
    last = c.get("/patients/?q=patel&page_size=10&page=5")
    assert b"Patel44" in last.content and b"Patel39" not in last.content
    assert b">Next<" not in last.content and b">Previous<" in last.content
    assert c.get("/patients/?q=patel&page_size=10&page=6").status_code == 404


def test_the_api_counts_up_to_the_cap_and_next_walks_on(clinician, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 20)
    add_patients(25, names=[("Maya", f"Patel{i:02d}") for i in range(25)])
    api = api_client_for(clinician)
    body = api.get("/api/patients/?q=pat&page_size=10&page=2").json()
    assert body["count"] == 20 and body["next"] and "page=3" in body["next"]
    last = api.get(body["next"]).json()
    assert [r["family_name"] for r in last["results"]] == [f"Patel{i}" for i in range(20, 25)]
    assert last["next"] is None
    # Under the cap the count is exact, as before.
    assert api.get("/api/patients/?q=patel2").json()["count"] == 5


# --- PostgreSQL: the plan at scale ------------------------------------------------------

def _plan(qs):
    sql, params = qs if isinstance(qs, tuple) else qs.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
    return plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"]


def _nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.postgres
@pytest.mark.parametrize("q", ["Patel", "Maya", "Maya Patel", "pat", "S0001", "Nobody"])
def test_the_search_reads_a_page_not_every_match_on_20k_patients(clinician, q):
    """Patel is 5% of 20k patients (1,000): the page reads about a page of them per branch,
    through the name-key indexes: no sequential scan, (almost) nothing read and thrown
    away, a bounded number of buffers whatever the table's size."""
    add_patients(20_000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE patients_patient")
    found = selectors.patient_list(user=clinician, q=q)
    page = found[:25]
    union, params = found._counter.union_sql(connection, 1001, found._counter.count_branches)
    count = f"SELECT COUNT(*) FROM ({union} LIMIT 1001) n"
    assert found.capped_count(1001) == min(1001, found.count())
    for qs in (page, (count, params)):  # the page, and the paginator's capped count
        plan = _plan(qs)
        on_patients = [n for n in _nodes(plan) if n.get("Relation Name") == "patients_patient"]
        assert on_patients
        assert not [n for n in on_patients if n["Node Type"] == "Seq Scan"], q
        removed = sum(n.get("Rows Removed by Filter", 0) for n in on_patients)
        # A page throws away a few rows; the count (1,001 rows) at most as many as it keeps
        # (S0001 is half the table: walking the list order finds one in two).
        assert removed <= (100 if qs is page else 1001), (q, removed)
        if qs is not page:
            # Counting needs no order: every branch (the MRN one too) stops at the cap in
            # its own index's order instead of reading all its matches to sort them by name.
            assert max(n["Actual Rows"] for n in on_patients) <= 1100, q
        if qs is page:
            # The old OR walked the name index over most of the table (thousands of
            # buffers); a page reads a page's rows per branch.
            buffers = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
            assert buffers < 600, (q, buffers)
