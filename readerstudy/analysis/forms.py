"""The exports page's form: the analysis parameters, validated by
:meth:`readerstudy.analysis.services.ExportParameters.from_data` (the API's rule too)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from readerstudy.analysis.services import MAX_BOOT, ExportParameters

DEFAULTS = ExportParameters()


class ExportParametersForm(forms.Form):
    """Text inputs, left to ``from_data`` to read: an empty field takes the default."""

    n_boot = forms.CharField(
        required=False, label="Bootstrap resamples",
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_BOOT, "step": 1,
                                        "placeholder": DEFAULTS.n_boot}),
        help_text=f"For the confidence intervals; {DEFAULTS.n_boot} by default.",
    )
    seed = forms.CharField(
        required=False, label="Random seed",
        widget=forms.NumberInput(attrs={"min": 0, "step": 1, "placeholder": DEFAULTS.seed}),
        help_text="The same seed and data give the same intervals.",
    )
    alpha = forms.CharField(
        required=False, label="Alpha",
        widget=forms.NumberInput(attrs={"min": 0, "max": 0.5, "step": "any",
                                        "placeholder": DEFAULTS.alpha}),
        help_text=f"1 − confidence level; {DEFAULTS.alpha} gives 95% intervals.",
    )
    power_effect = forms.CharField(
        required=False, label="Effect for a future study",
        widget=forms.NumberInput(attrs={"min": 0, "max": 1, "step": "any",
                                        "placeholder": DEFAULTS.power_effect}),
        help_text=(f"Difference of reader-averaged AUCs that table 9 plans a future study "
                   f"for, beside the observed one; {DEFAULTS.power_effect} by default."),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        # Form.clean() returns self.cleaned_data; the stubs allow None for overrides.
        data = self.cleaned_data
        try:
            self.parameters = ExportParameters.from_data(
                {name: data.get(name) for name in self.fields})
        except ValidationError as exc:
            self.add_error(None, exc)  # a dict of field errors: each lands on its field
        return data
