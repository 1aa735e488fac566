"""`manage.py compute_metrics [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--service CODE] [--site CODE]`:
compute a snapshot now, in this process, and print the key numbers."""

from django.core.management.base import BaseCommand, CommandError

from ipm.errors import InvalidInput
from ipm.progress import Progress
from metrics import presenters, services
from metrics.definitions import METRICS
from metrics.filters import scope_from_params
from metrics.models import MetricSnapshot
from metrics.templatetags.metrics_tags import metric_value


class Command(BaseCommand):
    help = "Compute a program metrics snapshot (default: the 30 days ending yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from", default="", help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="to", default="", help="Last day (inclusive).")
        parser.add_argument("--service", default="", help="Service code; default: program.")
        parser.add_argument("--site", default="", help="Site code or id; default: every site.")

    def handle(self, *args, **options):
        try:
            scope = scope_from_params(options)
        except InvalidInput as exc:
            problems = "; ".join(f"--{f}: {' '.join(m)}" for f, m in exc.errors.items())
            raise CommandError(f"{exc.message} {problems}".strip())
        snapshot = services.snapshot_create(scope=scope, trigger=MetricSnapshot.Trigger.COMMAND)
        # Seconds of queries at scale: show how far it is (stderr, so stdout stays the numbers).
        with Progress("metrics", 100, self.stderr._out) as bar:
            snapshot = services.snapshot_compute(snapshot_id=snapshot.pk,
                                                 on_progress=bar.update)
            bar.update(100)
        if snapshot.status != MetricSnapshot.Status.DONE:
            raise CommandError(f"Snapshot {snapshot.pk} failed: {snapshot.error}")
        where = scope.service.code if scope.service else "whole program"
        if scope.site:
            where += f", site {scope.site.code}"
        self.stdout.write(f"Metrics snapshot {snapshot.pk}: {scope.start} to {scope.end}, "
                          f"{where} ({len(snapshot.series)} weeks of trends)")
        values = presenters.normalise(snapshot.values)
        for row in presenters.period_rows(values):
            responders = row["key"].startswith("responders")
            shown = metric_value(row["value"],
                                 "percent" if responders else METRICS[row["key"]].unit)
            self.stdout.write(f"  {row['label']:<58} {shown}")
