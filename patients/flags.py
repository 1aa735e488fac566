"""Facts behind the patient flags (pure: no ORM), shared by the patient model, the list
filters and outcomes' opioid-dose rules (outcomes/mme.py).

Opioid-dose screening flags (docs/product.md §3.4). 50 and 90 MME/day are the levels of the
2016 CDC guideline (reassess at >= 50, avoid or justify >= 90); the 2022 guideline keeps the
dose-risk evidence but no longer states them as fixed limits, so these are flags for review,
not caps.

The flags in people's words: one definition per flag, used by every page (the
`flag_label` / `flag_tone` template filters), the patient-list filter and the API's codes.
`Patient.flags` returns the codes (machine-readable, as the API sends them); pages show the
label and colour from here. Tones follow the risk colours: danger (act now), warning (look at
it), success (good news), secondary (for information).
"""

from dataclasses import dataclass
from decimal import Decimal

MME_FLAG_THRESHOLDS: tuple[tuple[str, Decimal], ...] = (
    ("mme_50", Decimal(50)),
    ("mme_90", Decimal(90)),
)


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    tone: str  # a Bootstrap contextual colour: danger, warning, success, secondary
    meaning: str


FLAGS: dict[str, Flag] = {f.code: f for f in (
    Flag("red_flag", "Red flags", "danger",
         "A red-flag symptom at intake: urgent medical review."),
    Flag("open_safety_alert", "Open safety alert", "danger",
         "A safety alert (self-harm answer) is open and not yet acknowledged."),
    Flag("mme_90", "Opioids ≥ 90 MME/day", "danger",
         "Daily opioid dose of 90 morphine milligram equivalents or more."),
    Flag("mme_50", "Opioids ≥ 50 MME/day", "warning",
         "Daily opioid dose of 50 morphine milligram equivalents or more."),
    Flag("not_improving", "Not improving", "warning",
         "No meaningful improvement in pain (PEG) at 12 weeks or later."),
    Flag("stopped_reminders", "Reminders stopped", "secondary",
         "The patient asked for no more reminders: contact them by hand."),
    Flag("responder", "Improving", "success",
         "Pain (PEG) improved by at least the minimal important difference."),
)}


def flag_label(code: str) -> str:
    """The flag's words; an unknown code is shown readable rather than raw."""
    flag = FLAGS.get(code)
    return flag.label if flag else str(code).replace("_", " ").capitalize()


def flag_tone(code: str) -> str:
    flag = FLAGS.get(code)
    return flag.tone if flag else "secondary"


def flag_choices() -> list[tuple[str, str]]:
    """(code, label) for a filter, most urgent first."""
    return [(f.code, f.label) for f in FLAGS.values()]
