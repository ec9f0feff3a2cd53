"""Reader-facing endpoints: blinded. Every response is built from an allow-list of fields."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.core.permissions import IsReader, is_coordinator
from readerstudy.studies import pseudonyms, selectors, services
from readerstudy.studies.api import schemas
from readerstudy.studies.api.errors import reading_error_response, validation_error_response
from readerstudy.studies.exceptions import NotInWorklist, ReadingError, RepeatNotDue
from readerstudy.studies.models import Read, Study
from readerstudy.studies.protocol import FIRST, GROUPS, QUESTIONS, ROUNDS, Kind, Question


def rounds_read() -> list[str]:
    """The rounds a case can be opened and read in (``protocol.ROUNDS`` in use)."""
    return [r.key for r in ROUNDS.values() if r.in_use]

CASE_UNAVAILABLE = "No such case in your worklist for this round, or not available yet."


def case_refusal_response(exc: ReadingError) -> Response:
    """A refusal of a case: not assigned, unknown, not in the repeat sample and not yet due all
    get the same 404 and body, so that a reader cannot tell them apart (which cases are repeated,
    and when, a reader learns from their worklist only)."""
    if isinstance(exc, NotInWorklist | RepeatNotDue):
        return Response({"detail": CASE_UNAVAILABLE, "code": NotInWorklist.code}, status=status.HTTP_404_NOT_FOUND)
    return reading_error_response(exc)


def stored_case_code(request, study: Study, round: str, code: str) -> str:
    """The stored code of the case the reader names by its code in ``round``
    (:mod:`~readerstudy.studies.pseudonyms`); ``NotInWorklist`` if it names none of theirs."""
    stored = pseudonyms.case_code_resolve(study=study, reader=request.user, round=round, code=code)
    if stored is None:
        raise NotInWorklist(CASE_UNAVAILABLE)
    return stored


def get_study_for_reader(request, slug: str) -> Study:
    """The object fetch helper of every reader view: 404 unless the user is assigned."""
    study = selectors.study_for_reader(reader=request.user, slug=slug)
    if study is None:
        raise NotFound("No such study in your worklist.")
    return study


class MeView(APIView):
    permission_classes = [IsReader]

    @extend_schema(responses=inline_serializer("Me", {
        "username": serializers.CharField(), "role": serializers.CharField(),
        "is_coordinator": serializers.BooleanField(),
    }))
    def get(self, request):
        profile = getattr(request.user, "reader_profile", None)
        return Response({
            "username": request.user.username,
            "role": profile.role if profile else ("coordinator" if is_coordinator(request.user) else ""),
            "is_coordinator": is_coordinator(request.user),
        })


class ReadingStudiesView(APIView):
    permission_classes = [IsReader]

    @extend_schema(responses=schemas.ReadingStudySerializer(many=True))
    def get(self, request):
        rows = []
        for study in selectors.studies_for_reader(reader=request.user):
            worklist = selectors.worklist_for(study=study, reader=request.user)
            rows.append({
                "slug": study.slug, "title": study.title, "modality": study.modality,
                "status": study.status, "progress": worklist["progress"],
                "repeats_due": len(worklist["repeats_due"]),
            })
        return Response(rows)


class WorklistView(APIView):
    permission_classes = [IsReader]

    @extend_schema(responses=schemas.WorklistSerializer)
    def get(self, request, slug: str):
        study = get_study_for_reader(request, slug)
        return Response(selectors.worklist_for(study=study, reader=request.user))


class CaseOpenView(APIView):
    permission_classes = [IsReader]

    @extend_schema(responses=schemas.CASE_OPEN_RESPONSES, parameters=[OpenApiParameter("round", str, enum=rounds_read())])
    def get(self, request, slug: str, code: str):
        study = get_study_for_reader(request, slug)
        round = request.query_params.get("round", FIRST)
        try:
            services.round_read(round)  # a round not read yet says so, before any code is looked up
            slot = services.case_open(study=study, reader=request.user, round=round,
                                      code=stored_case_code(request, study, round, code))
        except ReadingError as exc:
            return case_refusal_response(exc)
        return Response(selectors.case_payload_for_reader(study=study, slot=slot))


def _answer_field(question: Question, **kwargs) -> serializers.Field:
    # Loose types: what an answer must be is validate_answers' rule, with its own messages.
    if question.kind is Kind.SCALE:
        return serializers.IntegerField(**kwargs)
    if question.kind is Kind.NUMBER:
        return serializers.FloatField(**kwargs)
    if question.kind is Kind.BOOLEAN:
        return serializers.BooleanField(**kwargs)
    return serializers.CharField(**kwargs)


class ReadSubmissionSerializer(serializers.Serializer):
    """The shape of a submission: the round, and one field per question of the reading protocol
    (``protocol.QUESTIONS``), a group's answers in one object. Which questions a study asks in
    a round, and what a valid answer is, is ``validate_answers``' rule."""

    case = serializers.CharField(max_length=16)
    submission_id = serializers.UUIDField()

    def get_fields(self):
        fields = super().get_fields()
        # Every defined round: one not read yet is refused by the service, saying why.
        fields["round"] = serializers.ChoiceField(choices=list(ROUNDS), default=FIRST)
        for question in QUESTIONS.values():
            if not question.group:
                # Required here only when every study asks it in every round (the call).
                always = question.required and not (question.asked_by or question.modalities or question.rounds)
                fields[question.key] = _answer_field(question, required=always, allow_null=not always,
                                                     help_text=question.label)
        for group in GROUPS.values():
            members = [q for q in QUESTIONS.values() if q.group == group.key]
            if not members:
                continue
            child = (_answer_field(members[0]) if len({q.kind for q in members}) == 1
                     else serializers.JSONField())
            fields[group.key] = serializers.DictField(child=child, required=False, help_text=group.label)
        return fields


class ReadReceiptSerializer(serializers.ModelSerializer):
    """A receipt: what was submitted when, never the answers; the case by its code in the read's round."""

    case = serializers.SerializerMethodField()

    def get_case(self, read: Read) -> str:
        return pseudonyms.case_code(case=read.case, round=read.round)

    class Meta:
        model = Read
        fields = ["submission_id", "case", "round", "position", "submitted_at"]


class ReadsView(APIView):
    permission_classes = [IsReader]

    @extend_schema(responses=ReadReceiptSerializer(many=True))
    def get(self, request, slug: str):
        study = get_study_for_reader(request, slug)
        reads = Read.objects.filter(study=study, reader=request.user).select_related("case")
        return Response(ReadReceiptSerializer(reads, many=True).data)

    @extend_schema(request=ReadSubmissionSerializer, responses={201: ReadReceiptSerializer, 200: ReadReceiptSerializer})
    def post(self, request, slug: str):
        study = get_study_for_reader(request, slug)
        shape = ReadSubmissionSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = {k: v for k, v in request.data.items() if k in shape.fields and v is not None}
        try:
            services.round_read(shape.validated_data["round"])
            data["case"] = stored_case_code(request, study, shape.validated_data["round"], data.get("case", ""))
            read, created = services.read_submit(study=study, reader=request.user, data=data)
        except ReadingError as exc:
            return case_refusal_response(exc)
        except ValidationError as exc:
            return validation_error_response(exc)
        return Response(
            ReadReceiptSerializer(read).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
