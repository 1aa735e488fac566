from django.core.management.base import BaseCommand

from reminders.dispatch import dispatch_due


class Command(BaseCommand):
    help = "Run one reminder dispatch pass, as the worker does, and print the counts."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None,
                            help="rows claimed per batch (default REMINDERS_BATCH_SIZE)")

    def handle(self, *args, batch_size=None, **options):
        counts = dispatch_due(batch_size=batch_size)
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
