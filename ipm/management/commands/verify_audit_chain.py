from django.core.management.base import BaseCommand, CommandError

from ipm.audit import seal_chain, verify_chain


class Command(BaseCommand):
    help = "Seal new audit rows into the hash chain, then verify the whole chain."

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="verify only")

    def handle(self, *args, no_seal=False, **options):
        if not no_seal:
            sealed = seal_chain()
            while sealed:
                self.stdout.write(f"sealed {sealed} rows")
                sealed = seal_chain()
        ok, bad_id, checked = verify_chain()
        if not ok:
            raise CommandError(f"Audit chain broken at row {bad_id} (after {checked} good rows): "
                               "a sealed row was altered or removed.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} rows verified."))
