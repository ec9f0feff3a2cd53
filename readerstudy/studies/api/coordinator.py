"""Coordinator endpoints: staff only. These may show everything, ground truth included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from readerstudy.accounts.models import ReaderProfile
from readerstudy.accounts.services import reader_create
from readerstudy.core.models import AuditEvent, audit
from readerstudy.core.permissions import IsCoordinator
from readerstudy.studies import selectors, services
from readerstudy.studies.api.errors import validation_error_response
from readerstudy.studies.models import Assignment, Case, Read, ReferenceStandard, Study

if TYPE_CHECKING:  # a type alias of the stubs only
    from rest_framework.permissions import _PermissionClass


class StudySerializer(serializers.ModelSerializer):
    class Meta:
        model = Study
        fields = [
            "slug", "title", "description", "modality", "status", "ask_confidence",
            "ask_three_tier", "ask_features", "measurements", "washout_days",
            "repeat_sample_size", "repeat_same_patients", "seed", "mode", "created_at",
        ]
        read_only_fields = ["status", "created_at"]
        extra_kwargs = {"seed": {"required": False}}


class ReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceStandard
        fields = ["label", "source", "notes"]


class CaseSerializer(serializers.ModelSerializer):
    reference = ReferenceSerializer(required=False)

    class Meta:
        model = Case
        fields = [
            "code", "source_case_id", "patient_pseudonym", "test_set", "vertebra_level", "age",
            "sex", "institution", "scanner_vendor", "field_strength", "reference",
        ]
        read_only_fields = ["code"]

    def save(self, **kwargs):
        """Through the services the admin calls: ``case_save`` and ``reference_set`` (audited,
        one transaction); their refusals are 400s naming the field."""
        data = {**self.validated_data, **kwargs}
        reference = data.pop("reference", None)
        case = self.instance or Case()
        for field, value in data.items():
            setattr(case, field, value)
        by = self.context["request"].user
        try:
            with transaction.atomic():
                services.case_save(case=case, by=by)
                if reference:
                    current = ReferenceStandard.objects.filter(case=case).values("label", "source", "notes").first()
                    services.reference_set(case=case, by=by, **({"label": "", "source": "", "notes": ""}
                                                                 | (current or {}) | reference))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
            ) from None
        self.instance = case
        return case


class AssignmentSerializer(serializers.ModelSerializer):
    reader = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    role = serializers.CharField(source="reader.reader_profile.role", read_only=True)

    class Meta:
        model = Assignment
        fields = ["reader", "role", "created_at"]
        read_only_fields = ["created_at"]


class ReadSerializer(serializers.ModelSerializer):
    case = serializers.CharField(source="case.code")
    reader = serializers.CharField(source="reader.username")
    reading_seconds = serializers.FloatField()
    repeat_interval_days = serializers.FloatField(allow_null=True)

    class Meta:
        model = Read
        fields = [
            "submission_id", "case", "reader", "round", "position", "call", "confidence",
            "three_tier", "features", "measurements", "opened_at", "submitted_at",
            "reading_seconds", "repeat_interval_days",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = AuditEvent
        fields = ["at", "actor", "verb", "object_type", "object_id", "details"]


class ReaderSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    # Checked by reader_create against AUTH_PASSWORD_VALIDATORS (the one rule for passwords).
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    role = serializers.ChoiceField(choices=ReaderProfile.Role.values)
    years_experience = serializers.IntegerField(min_value=0, max_value=60)
    specialty = serializers.CharField(required=False, allow_blank=True, default="")


class ScheduleRowSerializer(serializers.Serializer):
    reader = serializers.CharField()
    simulated = serializers.BooleanField(help_text="One of the demo's simulated readers (generated reads).")
    case = serializers.CharField()
    patient = serializers.CharField()
    position = serializers.IntegerField()
    first_read_at = serializers.DateTimeField(allow_null=True)
    available_from = serializers.DateTimeField(allow_null=True)
    repeat_read_at = serializers.DateTimeField(allow_null=True)
    interval_days = serializers.FloatField(allow_null=True)
    state = serializers.CharField()


class StudyViewSet(viewsets.ModelViewSet):
    permission_classes = [IsCoordinator]
    serializer_class = StudySerializer
    queryset = Study.objects.all()
    lookup_field = "slug"

    def perform_create(self, serializer):
        self._save(serializer, Study(**serializer.validated_data))

    def perform_update(self, serializer):
        study = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(study, key, value)
        self._save(serializer, study)

    def _save(self, serializer, study: Study) -> None:
        """Through the one rule for study settings (``services.study_save``), as the page and admin."""
        try:
            serializer.instance = services.study_save(study=study, by=self.request.user)
        except DjangoValidationError as exc:
            detail = serializers.as_serializer_error(exc)
            if NON_FIELD_ERRORS in detail:  # Django's key for a rule on the whole study, as DRF names it
                detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
            raise serializers.ValidationError(detail) from exc

    def destroy(self, request, *args, **kwargs):
        study = self.get_object()
        if study.has_reads():
            return Response({"detail": "A study with reads cannot be deleted; close it instead."},
                            status=status.HTTP_409_CONFLICT)
        return super().destroy(request, *args, **kwargs)

    @action(detail=True, methods=["post"])
    def open(self, request, slug=None):
        try:
            study = services.study_open(study=self.get_object(), by=request.user)
        except DjangoValidationError as exc:
            return validation_error_response(exc)
        return Response(StudySerializer(study).data)

    @action(detail=True, methods=["post"])
    def close(self, request, slug=None):
        try:
            study = services.study_close(study=self.get_object(), by=request.user)
        except DjangoValidationError as exc:
            return validation_error_response(exc)
        return Response(StudySerializer(study).data)

    @action(detail=True, methods=["get"])
    def progress(self, request, slug=None):
        return Response(selectors.progress_for(study=self.get_object()))

    @action(detail=True, methods=["get"], serializer_class=ScheduleRowSerializer)
    def schedule(self, request, slug=None):
        rows = selectors.repeat_schedule(study=self.get_object())
        return Response(ScheduleRowSerializer(rows, many=True).data)

    @action(detail=True, methods=["get"], serializer_class=ReadSerializer)
    def reads(self, request, slug=None):
        reads = Read.objects.filter(study=self.get_object()).select_related("case", "reader")
        return Response(ReadSerializer(reads, many=True).data)

    @action(detail=True, methods=["get"], serializer_class=AuditEventSerializer)
    def audit(self, request, slug=None):
        events = AuditEvent.objects.filter(study_slug=self.get_object().slug).select_related("actor")
        return Response(AuditEventSerializer(events, many=True).data)


class _StudyChildMixin:
    """For views under a study's URL; mixed into DRF views, which set ``kwargs``."""

    kwargs: dict[str, Any]
    # The type APIView declares (an attribute of two bases must be declared alike).
    permission_classes: Sequence[_PermissionClass] = [IsCoordinator]

    def get_study(self) -> Study:
        return get_object_or_404(Study, slug=self.kwargs["study_slug"])


@extend_schema(parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH, description="The case's code")])
class CaseViewSet(_StudyChildMixin, viewsets.ModelViewSet):
    serializer_class = CaseSerializer
    lookup_field = "code"

    def get_queryset(self):
        return Case.objects.filter(study__slug=self.kwargs["study_slug"]).select_related("reference")

    def perform_create(self, serializer):
        study = self.get_study()
        if study.status != Study.Status.DRAFT:
            raise serializers.ValidationError("Cases can only be added to a draft study.")
        self._save(serializer, study)

    def perform_update(self, serializer):
        self._save(serializer, self.get_study())

    def _save(self, serializer, study: Study) -> None:
        """Saves the case and its reference whole through ``services.case_save`` and
        ``reference_set``: a source case id the study has already is a 400."""
        serializer.save(study=study)

    def perform_destroy(self, instance):
        try:
            services.case_delete(case=instance, by=self.request.user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class AssignmentViewSet(_StudyChildMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    serializer_class = AssignmentSerializer
    lookup_field = "reader__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return Assignment.objects.filter(study__slug=self.kwargs["study_slug"]).select_related(
            "reader", "reader__reader_profile"
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            assignment = services.assignment_create(
                study=self.get_study(), reader=serializer.validated_data["reader"], by=request.user
            )
        except DjangoValidationError as exc:
            return validation_error_response(exc)
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        """Remove a reader who has no reads yet (``services.assignment_remove``; 409 otherwise)."""
        assignment = self.get_object()
        try:
            services.assignment_remove(study=assignment.study, reader=assignment.reader, by=request.user)
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReaderViewSet(viewsets.GenericViewSet):
    permission_classes = [IsCoordinator]
    serializer_class = ReaderSerializer

    def list(self, request):
        profiles = ReaderProfile.objects.select_related("user")
        return Response([
            {"username": p.user.username, "role": p.role, "years_experience": p.years_experience,
             "specialty": p.specialty}
            for p in profiles
        ])

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = reader_create(**serializer.validated_data)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        except DjangoValidationError as exc:
            return validation_error_response(exc)
        audit(actor=request.user, verb=AuditEvent.Verb.CREATED, obj=user, role=serializer.validated_data["role"])
        data = dict(serializer.validated_data)
        data.pop("password")
        return Response(data | {"username": user.username}, status=status.HTTP_201_CREATED)
