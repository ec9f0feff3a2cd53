"""A study's answer form, built from the reading protocol's questions (``protocol.QUESTIONS``):
the one rule for a valid read, where a read keeps each answer, and the form the reading room
draws.

``validate_answers`` is the single rule for what a valid read is: ``services.read_submit``
(which the API and the reading page post to), the admin and any task call it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from readerstudy.studies.protocol import (
    FEATURES,
    FIRST,
    GROUPS,
    MEASUREMENTS,
    QUESTIONS,
    AnswerError,
    Question,
    is_asked,
    questions_for,
)
from readerstudy.vocabulary import CALLS, THREE_TIER

# The names other modules import from here: the vocabulary's and the protocol's.
__all__ = [
    "CALLS",
    "FEATURES",
    "MEASUREMENTS",
    "THREE_TIER",
    "answer_of",
    "form_description",
    "read_fields",
    "submission_keys",
    "validate_answers",
]

ANSWERS_FIELD = "answers"  # the read's JSON field for answers without a column of their own


def submission_keys() -> set[str]:
    """The answer keys a submission may carry: questions of their own and groups."""
    return {q.group or q.key for q in QUESTIONS.values()}


def form_description(study, round: str = FIRST) -> dict[str, Any]:
    """The answer form of ``study`` in ``round`` as the reading room and API clients see it:
    the questions asked, in order, and the groups some of them are answered in."""
    questions = list(questions_for(study, round))
    used = {q.group for q in questions if q.group}
    return {
        "questions": [_describe(q) for q in questions],
        "groups": [
            {"key": g.key, "label": g.label, "help": g.help, "prefix": g.prefix}
            for g in GROUPS.values() if g.key in used
        ],
    }


def _describe(q: Question) -> dict[str, Any]:
    described: dict[str, Any] = {
        "key": q.key, "kind": q.kind.value, "label": q.label, "help": q.help,
        "group": q.group, "required": q.required,
    }
    if q.choices:
        described["choices"] = [{"key": c.key, "label": c.label, "shortcut": c.shortcut} for c in q.choices]
    if q.minimum is not None:
        described |= {"minimum": q.minimum, "maximum": q.maximum, "unit": q.unit}
    if q.shortcuts:
        described["shortcuts"] = list(q.shortcuts)
    if q.anchors:
        described["anchors"] = list(q.anchors)
    if q.consistent_with:
        described["consistent_with"] = q.consistent_with
        described["refused_with"] = q.refused_with()
    return described


def _message(key: str, exc: AnswerError) -> str:
    text = str(exc)
    return f"{key}: {text[:1].lower()}{text[1:]}"


def validate_answers(study, data: dict[str, Any], *, round: str = FIRST) -> dict[str, Any]:
    """Check a read's answers against the questions ``study`` asks in ``round``; return them
    cleaned, in the submission's shape (a group's answers in one object).

    Raises ``django.core.exceptions.ValidationError`` with the messages of each bad answer
    under its question's key (a group's under the group's key). Answers the form does not
    ask for are refused rather than silently dropped.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key in sorted(set(data) - submission_keys()):
        errors[key] = ["This study's form has no such question."]

    for q in QUESTIONS.values():
        if q.group:
            continue
        value = data.get(q.key)
        if not is_asked(q, study, round):
            if value is not None:
                errors[q.key] = [f"This study's form does not ask for the {q.label.lower()}."]
            continue
        try:
            answer = q.clean(value)
        except AnswerError as exc:
            errors[q.key] = [str(exc)]
            continue
        if answer is not None:
            cleaned[q.key] = answer

    for group in GROUPS.values():
        members = [q for q in QUESTIONS.values() if q.group == group.key]
        asked = [q for q in members if is_asked(q, study, round)]
        given = data.get(group.key)
        if not asked:
            if given:
                errors[group.key] = [f"This study's form does not ask for {group.label.lower()}."]
            continue
        if not isinstance(given, dict):
            errors[group.key] = [f"Required: an object with {', '.join(q.key for q in asked)}."]
            continue
        messages = [f"{key}: not asked for by this study."
                    for key in sorted(set(given) - {q.key for q in asked})]
        answers: dict[str, Any] = {}
        for q in asked:
            try:
                answer = q.clean(given.get(q.key))
            except AnswerError as exc:
                messages.append(_message(q.key, exc))
                continue
            if answer is not None:
                answers[q.key] = answer
        if messages:
            errors[group.key] = messages
        else:
            cleaned[group.key] = answers

    for q in questions_for(study, round):
        contradiction = q.contradiction(cleaned.get(q.key), cleaned)
        if contradiction and q.key not in errors:
            errors[q.key] = [contradiction]

    if errors:
        raise ValidationError(errors)
    return cleaned


def read_fields(cleaned: dict[str, Any]) -> dict[str, Any]:
    """The ``Read`` fields that keep the answers ``cleaned`` by :func:`validate_answers`."""
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in cleaned.items():
        if key in GROUPS:
            target = fields if GROUPS[key].own_field else extra
            target[key] = value
        elif QUESTIONS[key].own_field:
            fields[key] = value
        else:
            extra[key] = value
    if extra:
        fields[ANSWERS_FIELD] = extra
    return fields


def answer_of(read, question: Question) -> Any:
    """``read``'s answer to ``question``; None when it has none."""
    if question.own_field:
        value = getattr(read, question.key)
        return None if value == "" else value
    if question.group:
        group = GROUPS[question.group]
        source = (getattr(read, group.key) if group.own_field
                  else getattr(read, ANSWERS_FIELD).get(group.key)) or {}
    else:
        source = getattr(read, ANSWERS_FIELD) or {}
    return source.get(question.key)
