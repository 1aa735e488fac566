"""The documented shape of `GET /api/metrics/program/` (drf-spectacular reads these).
Breakdown serializers are built from the definitions' keys so the schema cannot drift."""

from rest_framework import serializers

from patients.models import RiskGroup
from referrals.models import Referral

from .definitions import DOSE_BUCKETS, MEASURES, METRICS


def _serializer(name: str, fields: dict, doc: str) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc})


def _pct_field(help_text: str = ""):
    return serializers.FloatField(allow_null=True, help_text=help_text or "Percent (0-100), "
                                  "1 decimal; null when nothing was counted.")


RespondersSerializer = _serializer(
    "MetricsRespondersSerializer",
    {m.key: _pct_field(f"% responders on {m.label} (MCID).") for m in MEASURES},
    "Responder % per measure.")
RiskMixSerializer = _serializer(
    "MetricsRiskMixSerializer",
    {group: serializers.IntegerField(help_text=f"Patients at {label.lower()}.")
     for group, label in RiskGroup.choices},
    "Patients by STarT Back risk group.")
ReferralsByStateSerializer = _serializer(
    "MetricsReferralsByStateSerializer",
    {state: serializers.IntegerField() for state in Referral.Status.values},
    "Referrals by state at the end of the period.")
RespondersByRiskSerializer = _serializer(
    "MetricsRespondersByRiskGroupSerializer",
    {group: RespondersSerializer() for group in RiskGroup.values},
    "Responder % per measure, per STarT Back risk group.")
RespondersByDoseSerializer = _serializer(
    "MetricsRespondersByAttendanceDoseSerializer",
    {key: RespondersSerializer(help_text=label) for key, label, _ in DOSE_BUCKETS},
    "Responder % per measure, per number of group sessions attended.")

AckSiteSerializer = _serializer(
    "MetricsAlertAcknowledgementSiteSerializer",
    {"median_hours": serializers.FloatField(allow_null=True, help_text="Median hours to "
                                            "acknowledge; null when none was acknowledged."),
     "pct_within_working_day": _pct_field("% acknowledged within one working day.")},
    "Safety-alert acknowledgement at one site.")


class AckBySiteField(serializers.DictField):
    """{site code: {median_hours, pct_within_working_day}} (sites are the program's own)."""

    def __init__(self, **kwargs):
        super().__init__(child=AckSiteSerializer(), **kwargs)


_BREAKDOWNS = {
    "alert_acknowledgement_by_site": AckBySiteField,
    "dna_rate_by_service": lambda help_text: serializers.DictField(
        child=_pct_field(), help_text=help_text + " Keys: service codes."),
    "booked_hours_ratio": lambda help_text: serializers.DictField(
        child=_pct_field(), help_text=help_text + " Keys: clinician usernames."),
    "risk_mix": RiskMixSerializer,
    "referrals_by_state": ReferralsByStateSerializer,
    "responders": RespondersSerializer,
    "responders_by_risk_group": RespondersByRiskSerializer,
    "responders_by_attendance_dose": RespondersByDoseSerializer,
}


def _metric_field(key: str):
    metric = METRICS[key]
    if key in _BREAKDOWNS:
        return _BREAKDOWNS[key](help_text=metric.definition)
    if metric.unit == "count":
        return serializers.IntegerField(help_text=metric.definition)
    return serializers.FloatField(allow_null=True, help_text=metric.definition)


class ProgramMetricsOutputSerializer(serializers.Serializer):
    """Every program metric of docs/product.md §3.6 for the range and service, with the definitions."""

    to = serializers.DateField(help_text="Last day of the range (inclusive).")
    service = serializers.CharField(allow_null=True, help_text="Service code, or null: program.")
    site = serializers.CharField(allow_null=True, help_text="Site code, or null: every site.")
    definitions = serializers.DictField(child=serializers.CharField(),
                                        help_text="One sentence per metric key.")
    computed_at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["live", "snapshot"],
                                     help_text="Computed for this request, or read from a "
                                               "snapshot computed in the last few minutes.")

    def get_fields(self):
        declared = super().get_fields()
        fields = {"from": serializers.DateField(help_text="First day of the range.")}
        fields["to"] = declared.pop("to")
        fields["service"] = declared.pop("service")
        fields["site"] = declared.pop("site")
        fields.update({key: _metric_field(key) for key in METRICS})
        fields.update(declared)
        return fields
