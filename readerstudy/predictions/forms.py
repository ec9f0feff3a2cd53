"""The coordinator's model page forms. They only shape input: the rules are the services'."""

from __future__ import annotations

from typing import cast

from django import forms

from readerstudy.predictions import registry
from readerstudy.predictions.models import ModelVersion
from readerstudy.studies.models import Study


class ModelVersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ModelVersion) -> str:
        return f"{obj.name} {obj.version} (registered {obj.created_at:%d %b %Y})"


class InferenceStartForm(forms.Form):
    """Which registered model to run; the models that read the study's modality, newest first."""

    model_version = ModelVersionChoiceField(
        queryset=ModelVersion.objects.none(), empty_label=None, label="Model",
        error_messages={"invalid_choice": "Choose one of the registered models listed."},
    )

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        # This form's copy of the declared ModelVersionChoiceField (the stubs type the
        # mapping's values as Field).
        field = cast(ModelVersionChoiceField, self.fields["model_version"])
        field.queryset = registry.model_versions_for(study=study)
        field.initial = registry.latest_model_for(study=study)
