import time

from django.core.management.base import BaseCommand

from clinic.scale_data import generate


class Command(BaseCommand):
    help = ("Generate a program at scale for benchmarks: N patients with intakes, ~5 responses "
            "each, ~1.5 referrals each, group series with attendance, pending reminders.")

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, patients, seed, **options):
        started = time.monotonic()
        counts = generate(patients=patients, seed=seed, out=self.stdout)
        took = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            "Generated " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + f" in {took:.0f} s."))
