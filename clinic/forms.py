"""Forms of the guided intake that need more than patients knows: the opioid dose is
parsed by outcomes' one MME rule (outcomes.mme)."""

from django import forms

from outcomes.forms import AmountField


class MmeForm(forms.Form):
    mme = AmountField(label="Current daily opioid dose (MME)", required=False,
                      help_text="Morphine milligram equivalents per day. 0 if none; leave empty if unknown.")
