"""The reminder kind referrals schedules (registered by referrals.apps): sla_digest, targeting
"sla_digest" / the day as yyyymmdd (one digest per coordinator per day; referrals.tasks)."""

from django.db.models import Count

from reminders.kinds import Kind, absolute
from reminders.models import Reminder

from . import transitions as t
from .models import Referral
from .selectors import referrals_with_sla

R = Reminder.Reason


def breaching_referrals(now):
    """Open referrals over their service's SLA, by the referrals app's own SLA clock
    (referrals.selectors: still `new` after the triage target, or triaged/scheduled with
    no first visit after the first-visit target), urgent first, then longest waiting."""
    waiting = Referral.objects.filter(status__in=(t.NEW, t.TRIAGED, t.SCHEDULED))
    return (referrals_with_sla(waiting, now=now).filter(sla_breached=True)
            .order_by("priority_rank", "referred_at", "pk"))


class SlaDigestKind(Kind):
    """Daily digest to coordinators of referrals over their SLA; skipped when none are.
    Built once per batch (count, per service, the first 50), whatever the backlog."""

    code = Reminder.Kind.SLA_DIGEST
    subject = "IPM: referrals over their SLA today"
    listed = 50

    def prefetch(self, rows, now):
        breaching = breaching_referrals(now)
        by_service = sorted(
            (r["service__name"], r["n"]) for r in
            breaching.order_by().values("service__name").annotate(n=Count("id")))
        shown = []
        for ref in breaching.select_related("service")[:self.listed]:
            sla = (ref.service.sla_triage_days if ref.status == t.NEW
                   else ref.service.sla_first_visit_days)
            shown.append({"id": ref.pk, "service": ref.service.name,
                          "status": ref.get_status_display(), "priority": ref.priority,
                          "days_waiting": ref.days_waiting, "sla_days": sla})
        return {"count": sum(n for _name, n in by_service), "by_service": by_service,
                "referrals": shown}

    def eligibility(self, row, data, now):
        return "" if data["count"] else R.NO_LONGER_NEEDED

    def context(self, row, data, now):
        return {**data, "more": max(0, data["count"] - len(data["referrals"])),
                "url": absolute("/referrals/")}
