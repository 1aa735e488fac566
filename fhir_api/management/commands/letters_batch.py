"""Queue a batch of letters for the worker: ``manage.py letters_batch --kind discharge
--user dr_lee --patient 12 --patient 15`` (or ``--all`` for every patient the user sees).
``--wait`` polls until the worker is done and prints where the PDFs are."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ipm.errors import DomainError
from patients.models import Patient

from ...bulk import export_dir
from ...exports import letters_request
from ...letters import KINDS


class Command(BaseCommand):
    help = "Render intake or discharge letters for many patients in the worker."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=KINDS, required=True)
        parser.add_argument("--user", required=True, help="the clinician asking (scopes the "
                                                          "patients to their sites)")
        parser.add_argument("--patient", type=int, action="append", default=[])
        parser.add_argument("--all", action="store_true", help="every patient the user sees")
        parser.add_argument("--wait", action="store_true")

    def handle(self, *args, kind, user, patient, all, wait, **options):
        try:
            account = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user '{user}'.")
        ids = patient
        if all:
            ids = list(Patient.objects.visible_to(account).values_list("pk", flat=True))
        try:
            with transaction.atomic():
                job = letters_request(user=account, kind=kind, patient_ids=ids)
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.errors}")
        self.stdout.write(f"queued letters job {job.pk} ({len(set(ids))} patients)")
        while wait and not job.is_finished:
            time.sleep(1)
            job.refresh_from_db()
        if wait:
            self.stdout.write(f"{job.status}: {len(job.files)} letters in {export_dir(job)}")
