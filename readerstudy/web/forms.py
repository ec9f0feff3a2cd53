"""The coordinator pages' forms. They check what a form can (types, choices, sizes); the rules
themselves run in the services the API and the admin call too (``services.study_save``,
``assignment_create``, ``import_study_zip``)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy

from readerstudy.accounts.models import ReaderProfile
from readerstudy.imaging.importer import DEFAULT_MAX_UPLOAD_BYTES
from readerstudy.studies.answer_form import MEASUREMENTS
from readerstudy.studies.models import Study
from readerstudy.studies.protocol import MODE_HELP, MODES
from readerstudy.studies.services import STUDY_SETTINGS


def import_max_bytes() -> int:
    """The largest zip an import unpacks (``READERSTUDY_IMPORT_MAX_BYTES``); the importer reads the same."""
    return getattr(settings, "READERSTUDY_IMPORT_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """A service's ``ValidationError`` shown on the form: on its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


class _Labelled:
    """Labels without Django's trailing colon (they sit above or beside their field)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class StudyForm(_Labelled, forms.ModelForm):
    """A study's settings. Fields that can no longer change are shown disabled (the slug and what
    the reading orders are drawn from once the study is opened, the modality once cases exist, the
    frozen fields once reads exist); ``Study.clean`` refuses them anyway."""

    measurements = forms.MultipleChoiceField(
        choices=[(key, f"{m.label} ({m.unit})") for key, m in MEASUREMENTS.items()],
        widget=forms.CheckboxSelectMultiple, required=False,
        help_text="Continuous measurements readers enter on the mid-sagittal slice.",
    )
    seed = forms.IntegerField(
        required=False, min_value=0, max_value=2**63 - 1,
        help_text="Randomisation seed of the reading orders and the repeat sample. Leave empty for a random one.",
    )

    class Meta:
        model = Study
        fields = list(STUDY_SETTINGS)
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "slug": "Short name",
            "ask_confidence": "Probability of malignancy (0-100)",
            "ask_three_tier": "Three-tier call",
            "ask_features": "The 15-feature MRI checklist",
            "mode": "Study mode",
            "washout_days": "Washout (days)",
            "repeat_sample_size": "Repeat sample (patients)",
            "repeat_same_patients": "The same repeat patients for every reader",
        }
        help_texts = {
            "slug": "Short name in addresses, commands and exports (letters, digits, hyphens). "
                    "Fixed once the study is opened.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        study = self.instance
        self.frozen = bool(study.pk and study.has_reads())
        if self.frozen:
            for name in Study.FROZEN_FIELDS:
                self.fields[name].disabled = True
        if study.pk and study.status != Study.Status.DRAFT:
            for name in ("slug", *Study.DRAWN_AT_OPENING):
                self.fields[name].disabled = True
        if study.pk and study.cases.exists():
            self.fields["modality"].disabled = True
            self.fields["modality"].help_text = "Fixed: cases are imported with this modality."
        self.fields["mode"].required = False
        self.fields["mode"].help_text = " ".join(f"{label.capitalize()}: {MODE_HELP[key]}" for key, label in MODES.items())
        if not study.pk:
            self.initial["seed"] = None  # an empty box: the model draws one (clean_seed)
        else:
            self.fields["seed"].required = True
            self.fields["seed"].help_text = "Randomisation seed of the reading orders and the repeat sample."

    def clean_mode(self):
        # Left out (a script's POST, an older form): the study keeps its mode (blinded when new).
        return self.cleaned_data.get("mode") or self.instance.mode

    def clean_seed(self):
        seed = self.cleaned_data.get("seed")
        if seed is None and not self.instance.pk:
            return self.instance.seed  # the model's random default
        return seed


class ImportForm(_Labelled, forms.Form):
    file = forms.FileField(
        label="Zip file", widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
        help_text="manifest.csv at the top (or in one top folder) and the DICOM folders it names.",
    )
    allow_burned_in = forms.BooleanField(
        required=False, label="Accept images marked as having burned-in annotations",
        help_text="Files with BurnedInAnnotation = YES are refused by default: de-identification does not "
                  "touch pixels. Tick this only after checking those images show no identifying text.",
    )
    keep_originals = forms.BooleanField(
        required=False, label="Keep the original files",
        help_text="Stored apart and never served to anyone; only de-identified copies are read.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = import_max_bytes()
        if upload.size > limit:
            raise ValidationError(
                f"The zip is {filesizeformat(upload.size)}, more than the import limit of {filesizeformat(limit)} "
                "(READERSTUDY_IMPORT_MAX_BYTES).")
        return upload


class ReaderChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        profile = user.reader_profile
        specialty = f", {profile.specialty}" if profile.specialty else ""
        return f"{user.username} ({profile.get_role_display()}, {profile.years_experience} y{specialty})"


class AssignForm(_Labelled, forms.Form):
    """The reader accounts that can be assigned: active people not yet on the study (never the
    demo's simulated readers, whose reads are generated)."""

    readers = ReaderChoiceField(
        queryset=get_user_model().objects.none(), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one reader."},
    )

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        # self.fields holds this form's copies of the declared fields: "readers" is a
        # ReaderChoiceField (the stubs type the mapping's values as Field).
        cast(ReaderChoiceField, self.fields["readers"]).queryset = (
            get_user_model().objects.filter(reader_profile__isnull=False, is_active=True)
            .exclude(reader_profile__simulated=True)  # the demo's generated readers read no cases
            .exclude(assignments__study=study).select_related("reader_profile").order_by("username")
        )


def _password_help() -> str:
    return " ".join(password_validators_help_texts()) + " Give it to the reader privately."


class ReaderCreateForm(_Labelled, forms.Form):
    """A reader's login and profile (``accounts.services.reader_create``, as the API and the command)."""


    username = forms.CharField(max_length=150)
    # Checked by reader_create against AUTH_PASSWORD_VALIDATORS (the one rule for passwords).
    password = forms.CharField(strip=False, widget=forms.PasswordInput(render_value=False),
                               help_text=lazy(_password_help, str)())
    role = forms.ChoiceField(choices=ReaderProfile.Role.choices)
    years_experience = forms.IntegerField(min_value=0, max_value=60, label="Years of experience",
                                          help_text="Years in radiology (residency year for residents).")
    specialty = forms.CharField(max_length=80, required=False, help_text="e.g. musculoskeletal")
