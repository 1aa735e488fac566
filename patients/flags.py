"""Facts behind the patient flags (pure: no ORM), shared by the patient model, the list
filters and outcomes' opioid-dose rules (outcomes/mme.py).

Opioid-dose screening flags (docs/product.md §3.4). 50 and 90 MME/day are the levels of the
2016 CDC guideline (reassess at >= 50, avoid or justify >= 90); the 2022 guideline keeps the
dose-risk evidence but no longer states them as fixed limits, so these are flags for review,
not caps.
"""

from decimal import Decimal

MME_FLAG_THRESHOLDS: tuple[tuple[str, Decimal], ...] = (
    ("mme_50", Decimal(50)),
    ("mme_90", Decimal(90)),
)
