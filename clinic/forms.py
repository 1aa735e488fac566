from django import forms

from outcomes.instruments import get as get_instrument


class InstrumentForm(forms.Form):
    """A form generated from the instrument registry: one radio group per item."""

    def __init__(self, code: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = get_instrument(code)
        for item in self.instrument.items:
            self.fields[item.key] = forms.TypedChoiceField(
                label=item.text, coerce=int, required=item.required,
                empty_value=None,
                choices=[(o.value, o.label) for o in item.options],
                widget=forms.RadioSelect,
                error_messages={"required": "Please answer this question."})

    def answers(self) -> dict[str, int]:
        return {k: v for k, v in self.cleaned_data.items() if v is not None}
