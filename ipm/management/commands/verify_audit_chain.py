from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ipm.audit import parse_checkpoint, seal_chain, verify_chain


class Command(BaseCommand):
    help = ("Seal new audit rows into the chain, then verify the whole chain (and, with "
            "--checkpoint, that it still reaches a head recorded outside the database).")

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="verify only")
        parser.add_argument(
            "--checkpoint", nargs="?", const="", default=None, metavar="FILE_OR_VALUE",
            help="a checkpoint file (its last line is used), a logged checkpoint line or "
                 "'SEQ:HASH'; alone, the configured AUDIT_CHECKPOINT_FILE")
        parser.add_argument("--grace-seconds", type=int, default=None,
                            help="how long a committed row may stay unsealed "
                                 "(default AUDIT_SEAL_GRACE_SECONDS)")

    def handle(self, *args, no_seal=False, checkpoint=None, grace_seconds=None, **options):
        head = None
        if checkpoint is not None:
            source = checkpoint or settings.AUDIT_CHECKPOINT_FILE
            try:
                head = parse_checkpoint(source)
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read the checkpoint: {exc}") from exc
        if not no_seal:
            sealed = seal_chain()
            while sealed:
                self.stdout.write(f"sealed {sealed} rows")
                sealed = seal_chain()
        verdict = verify_chain(checkpoint=head, grace_seconds=grace_seconds)
        if not verdict.ok:
            where = f" at row {verdict.bad_id}" if verdict.bad_id is not None else ""
            raise CommandError(f"Audit chain broken{where} (after {verdict.checked} good "
                               f"rows): {verdict.problem}.")
        against = f", reaches checkpoint seal {head[0]}" if head else ""
        self.stdout.write(self.style.SUCCESS(
            f"Audit chain intact: {verdict.checked} rows verified{against}; "
            f"head seal {verdict.head[0]} {verdict.head[1]}."))
