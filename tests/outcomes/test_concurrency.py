import threading

import pytest
from django.db import connection
from django.test import Client

from outcomes import services
from outcomes.models import QuestionnaireResponse

PEG = {"q1": 5, "q2": 5, "q3": 5}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_saves_a_double_submit_only_once(make_patient):
    patient = make_patient()
    link, url = services.questionnaire_link_create(patient=patient, instruments=["peg"])
    path = "/q/" + url.split("/q/", 1)[1]
    barrier = threading.Barrier(4)
    codes = []

    def submit():
        try:
            barrier.wait()
            r = Client().post(path, {"answers": {"peg": PEG}}, content_type="application/json")
            codes.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 410, 410, 410]
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 1
