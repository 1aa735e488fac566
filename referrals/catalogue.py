"""The seeded MDT service catalogue (docs/product.md §3.2). SLA targets are program defaults that
admins can edit; they are days from referral to triage and to first visit."""

from .models import Service

SERVICES = [
    # code, name, discipline, sla_triage_days, sla_first_visit_days, group-based
    ("physio", "Physiotherapy", "Physiotherapy", 5, 28, False),
    ("psychology", "Pain psychology", "Psychology", 5, 42, False),
    ("chiropractic", "Chiropractic", "Chiropractic", 7, 28, False),
    ("acupuncture", "Acupuncture", "Acupuncture", 7, 42, False),
    ("yoga", "Therapeutic yoga", "Yoga therapy", 7, 28, True),
    ("pain_medicine", "Pain medicine", "Medicine", 2, 14, False),
    ("behavioural_health", "Behavioural health", "Psychology", 3, 21, False),
    ("social_prescribing", "Social prescribing", "Social care", 10, 42, False),
    ("group_programme", "Pain management group programme", "Multidisciplinary", 7, 42, True),
]


def seed(service_model) -> None:
    """Create or update the catalogue rows (the data migration, and tests that flush)."""
    for code, name, discipline, triage, first_visit, group in SERVICES:
        service_model.objects.update_or_create(
            code=code,
            defaults=dict(name=name, discipline=discipline, sla_triage_days=triage,
                          sla_first_visit_days=first_visit, is_group_based=group),
        )


def ensure_catalogue(sender=None, **kwargs) -> None:
    """post_migrate: put the catalogue back when the table is empty again (after a test
    database flush, or a fresh `flush`), without touching rows an administrator edited."""
    if not Service.objects.exists():
        seed(Service)
