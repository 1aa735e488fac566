"""Stratified care rules (docs/product.md §3.1), pure: no database.

- Any red flag → `urgent_medical_review`, with an urgent referral to `pain_medicine`;
  the STarT Back risk group is still scored and shown but does not route.
- Otherwise by STarT Back risk group (Hill et al. 2008; Keele matched treatment):
  low → `self_management`; medium → `physiotherapy`;
  high → `psychologically_informed_physio` (+ pain psychology).
- PHQ-9 ≥ 10 or GAD-7 ≥ 10 (moderate or worse) adds a behavioural-health referral suggestion.
"""

from dataclasses import dataclass, field

RED_FLAG_KEYS = (
    "cauda_equina",
    "cancer_history",
    "fever_or_infection",
    "significant_trauma",
    "unexplained_weight_loss",
    "progressive_neuro_deficit",
)
RED_FLAG_LABELS = {
    "cauda_equina": "Cauda equina symptoms (saddle anaesthesia, new bladder or bowel dysfunction)",
    "cancer_history": "History of cancer",
    "fever_or_infection": "Fever or suspected infection",
    "significant_trauma": "Significant trauma",
    "unexplained_weight_loss": "Unexplained weight loss",
    "progressive_neuro_deficit": "Progressive neurological deficit",
}
PATHWAY_BY_RISK = {
    "low": "self_management",
    "medium": "physiotherapy",
    "high": "psychologically_informed_physio",
}
MOOD_THRESHOLD = 10  # PHQ-9 or GAD-7 total at or above this: moderate symptoms


@dataclass(frozen=True)
class SuggestedReferral:
    service: str
    priority: str
    reason: str


@dataclass(frozen=True)
class Suggestion:
    pathway: str
    referrals: tuple[SuggestedReferral, ...] = field(default_factory=tuple)
    red_flags_present: tuple[str, ...] = ()


def suggest(*, risk_group: str, red_flags: dict[str, bool], phq9_total: int | None = None,
            gad7_total: int | None = None) -> Suggestion:
    present = tuple(k for k in RED_FLAG_KEYS if red_flags.get(k))
    referrals: list[SuggestedReferral] = []
    if present:
        pathway = "urgent_medical_review"
        referrals.append(SuggestedReferral(
            "pain_medicine", "urgent",
            "Red flag screen positive: " + ", ".join(RED_FLAG_LABELS[k] for k in present)
            + ". Urgent medical review."))
    else:
        pathway = PATHWAY_BY_RISK[risk_group]
        if risk_group == "medium":
            referrals.append(SuggestedReferral(
                "physio", "routine", "STarT Back medium risk: physiotherapy."))
        elif risk_group == "high":
            referrals.append(SuggestedReferral(
                "physio", "routine",
                "STarT Back high risk: psychologically informed physiotherapy."))
            referrals.append(SuggestedReferral(
                "psychology", "routine", "STarT Back high risk: pain psychology."))
    mood = []
    if phq9_total is not None and phq9_total >= MOOD_THRESHOLD:
        mood.append(f"PHQ-9 {phq9_total}")
    if gad7_total is not None and gad7_total >= MOOD_THRESHOLD:
        mood.append(f"GAD-7 {gad7_total}")
    if mood:
        referrals.append(SuggestedReferral(
            "behavioural_health", "routine",
            f"{' and '.join(mood)} at or above {MOOD_THRESHOLD}: behavioural health."))
    return Suggestion(pathway=pathway, referrals=tuple(referrals), red_flags_present=present)


def validate_red_flags(red_flags) -> dict[str, list[str]]:
    """Every key required, each true or false; unknown keys refused."""
    if not isinstance(red_flags, dict):
        return {"red_flags": ["Give each red-flag key as true or false."]}
    errors: dict[str, list[str]] = {}
    for key in RED_FLAG_KEYS:
        if key not in red_flags or red_flags[key] is None:
            errors[key] = ["This item is required (true or false)."]
        elif not isinstance(red_flags[key], bool):
            errors[key] = ["Must be true or false."]
    for key in red_flags:
        if key not in RED_FLAG_KEYS:
            errors[key] = ["Unknown red-flag key."]
    return errors
