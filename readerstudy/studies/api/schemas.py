"""The shapes of the reader endpoints' responses, for the OpenAPI schema only.

The views build their responses from the selectors' allow-lists (``studies_for_reader``,
``worklist_for``, ``case_payload_for_reader``); these serializers describe those dicts so that
``manage.py spectacular`` documents them. They validate and render nothing.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class DoneTotalSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ReadingStudySerializer(serializers.Serializer):
    """One study in the reader's list of studies."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    modality = serializers.CharField(help_text="CT or MRI")
    status = serializers.CharField(help_text="open or closed (drafts are never listed)")
    progress = DoneTotalSerializer(help_text="Reads done of all the reader's reads, both rounds")
    repeats_due = serializers.IntegerField(help_text="Repeat reads the reader may make now")


class WorklistStudySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    modality = serializers.CharField()
    status = serializers.CharField()


class NextCaseSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The case's blinded code in that round")
    round = serializers.CharField()
    position = serializers.IntegerField(help_text="Its place in the reader's order for the round")


class RepeatDueSerializer(serializers.Serializer):
    code = serializers.CharField()
    position = serializers.IntegerField()
    available_from = serializers.DateTimeField()


class RepeatUpcomingSerializer(serializers.Serializer):
    available_from = serializers.DateTimeField(help_text="When the repeat read becomes due (no code before then)")


class WorklistSerializer(serializers.Serializer):
    """The reader's worklist in one study."""

    study = WorklistStudySerializer()
    mode = serializers.CharField(help_text="The study's mode: blinded, assisted (second-read assisted) or teaching")
    progress = DoneTotalSerializer()
    first_round = DoneTotalSerializer()
    repeat_round = DoneTotalSerializer()
    aided_round = DoneTotalSerializer(help_text="AI-aided reads (assisted studies; 0 of 0 otherwise)")
    next = NextCaseSerializer(allow_null=True, help_text="The next case to read; null when none is due or the study is not open")
    repeats_due = RepeatDueSerializer(many=True)
    repeats_upcoming = RepeatUpcomingSerializer(many=True)


class ViewerInstanceSerializer(serializers.Serializer):
    sop_uid = serializers.CharField(help_text="The round's de-identified SOP Instance UID")
    number_of_frames = serializers.IntegerField()
    wado_uri = serializers.CharField()
    frames_url = serializers.CharField(help_text="Frame n (1-based) is at frames_url + '/' + n")


class ViewerSeriesSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="e.g. axial, sagittal, t1w, t2w")
    label = serializers.CharField()  # type: ignore[assignment]  # the field "label" shadows Field.label
    study_uid = serializers.CharField()
    series_uid = serializers.CharField()
    metadata_url = serializers.CharField()
    instances = ViewerInstanceSerializer(many=True)


class ViewerTargetSerializer(serializers.Serializer):
    level = serializers.CharField(help_text="The vertebra asked about, e.g. L1")
    center = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                   help_text="Its annotated centre [x, y, z], LPS mm; null when none")
    box = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), allow_null=True,
                                help_text="Its annotated box [[min x, y, z], [max x, y, z]], LPS mm; null when none")


class CasePayloadSerializer(serializers.Serializer):
    """What a reader receives on opening a case: blinded code, the answer form, the images."""

    code = serializers.CharField()
    round = serializers.CharField()
    position = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Cases in the reader's order for this round")
    modality = serializers.CharField()
    form = serializers.JSONField(help_text="The answer form asked in this round: its questions and groups")
    series = ViewerSeriesSerializer(many=True)
    target = ViewerTargetSerializer(help_text="The vertebra asked about: the viewer marks it on every view")


class ReadingErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    available_from = serializers.DateTimeField(required=False, help_text="Repeat not due yet: when it will be")


CASE_OPEN_RESPONSES = {
    200: CasePayloadSerializer,
    400: OpenApiResponse(ReadingErrorSerializer, description="A round that cannot be read"),
    403: OpenApiResponse(ReadingErrorSerializer, description="The repeat read is not due yet"),
    404: OpenApiResponse(description="Not in the reader's worklist"),
    409: OpenApiResponse(ReadingErrorSerializer, description="The study is not open"),
}
