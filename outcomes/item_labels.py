"""Per-patient wording of an instrument's items: a hook other apps register from their
AppConfig.ready(), so outcomes never imports them.

A provider is `provider(patient) -> {item key: label or None}` for one instrument code. The
patient link page (and the clinician entry form) show `label` instead of the item's generic
text, and hide an optional item whose label is None (nothing to ask the patient about).
Example: the PSFS asks about the activities the patient named in their care plan, so it reads
"Walking the dog" instead of "Activity 1" and skips activities 4 and 5 when they named three.
"""

from __future__ import annotations

from collections.abc import Callable

Provider = Callable[[object], dict[str, str | None]]
_PROVIDERS: dict[str, Provider] = {}


def register(code: str, provider: Provider) -> None:
    _PROVIDERS[code] = provider


def labels_for(code: str, patient) -> dict[str, str | None]:
    """{item key: label or None} for this patient, or {} when nothing is registered."""
    provider = _PROVIDERS.get(code)
    return provider(patient) if provider and patient is not None else {}
