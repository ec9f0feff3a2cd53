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
from readerstudy.studies.models import Read, Round, Study

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

    @extend_schema(responses=schemas.CASE_OPEN_RESPONSES, parameters=[OpenApiParameter("round", str, enum=["first", "repeat"])])
    def get(self, request, slug: str, code: str):
        study = get_study_for_reader(request, slug)
        round = request.query_params.get("round", Round.FIRST)
        try:
            slot = services.case_open(study=study, reader=request.user, round=round,
                                      code=stored_case_code(request, study, round, code))
        except ReadingError as exc:
            return case_refusal_response(exc)
        return Response(selectors.case_payload_for_reader(study=study, slot=slot))


class ReadSubmissionSerializer(serializers.Serializer):
    """The shape of a submission; the answers are validated by the study's form."""

    case = serializers.CharField(max_length=16)
    round = serializers.ChoiceField(choices=[Round.FIRST.value, Round.REPEAT.value], default=Round.FIRST.value)
    submission_id = serializers.UUIDField()
    call = serializers.CharField()
    confidence = serializers.IntegerField(required=False, allow_null=True)
    three_tier = serializers.CharField(required=False, allow_null=True)
    features = serializers.DictField(child=serializers.BooleanField(), required=False)
    measurements = serializers.DictField(child=serializers.FloatField(), required=False)


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
