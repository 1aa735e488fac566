"""A snapshot's periods computed on several connections at once give the same payload as one
after the other. The threads see committed rows only, so this test commits its data."""

import threading

import pytest

from metrics import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_parallel_and_sequential_payloads_are_equal(settings, monkeypatch, feb_program,
                                                    february):
    settings.IPM_METRICS_PARALLEL = 1
    sequential = services.compute_payload(february)
    settings.IPM_METRICS_PARALLEL = 3
    threads = set()
    compute = services.definitions.compute

    def recording(*args, **kwargs):
        threads.add(threading.get_ident())
        return compute(*args, **kwargs)

    monkeypatch.setattr(services.definitions, "compute", recording)
    progress = []
    parallel = services.compute_payload(february, on_progress=progress.append)
    assert parallel == sequential
    assert sequential["values"]["responders"]["peg"] == 50.0  # the worked February
    assert len(threads) > 1  # it really ran on several connections
    assert progress == sorted(progress) and 0 < progress[-1] <= 99


def test_inside_a_transaction_it_stays_on_one_connection(settings, feb_program, february):
    from django.db import transaction

    settings.IPM_METRICS_PARALLEL = 3
    with transaction.atomic():
        assert services._parallel_workers() == 1
    assert services._parallel_workers() == 3
