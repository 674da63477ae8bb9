"""An encounter's input shapes carry exactly the single record's fields, with the same bounds."""

from __future__ import annotations

from fairengage.engagements.schemas import EncounterIn, EncounterPersonIn, EngagementIn


def _shape(model: type, name: str) -> tuple[object, object, list[object], bool]:
    field = model.model_fields[name]  # type: ignore[attr-defined]
    return field.annotation, field.default, list(field.metadata), field.is_required()


def test_the_shared_and_personal_fields_together_are_exactly_the_records_fields() -> None:
    shared = set(EncounterIn.model_fields) - {"people"}
    personal = set(EncounterPersonIn.model_fields)
    assert not shared & personal, "a field asked both once per encounter and once per person"
    assert shared | personal == set(EngagementIn.model_fields)


def test_each_field_has_the_records_type_bounds_and_default() -> None:
    for model in (EncounterIn, EncounterPersonIn):
        for name in set(model.model_fields) - {"people"}:
            assert _shape(model, name) == _shape(EngagementIn, name), name


def _accepts(model: type, body: dict) -> bool:
    try:
        model.model_validate(body)  # type: ignore[attr-defined]
    except ValueError:
        return False
    return True


def test_an_encounter_refuses_what_a_record_refuses() -> None:
    # The bounds are live, not only declared: what a record refuses, an encounter's person refuses too.
    shared = {"occurred_at": "2025-01-01T10:00:00Z", "division": "D14", "location": {"description": "x"}}
    people = ({"perceived_age": 120}, {"perceived_age": 121}, {"outcome": "x" * 61}, {"searched": "yes"})
    for person in people:
        as_encounter = _accepts(EncounterIn, {**shared, "people": [person]})
        assert as_encounter == _accepts(EngagementIn, {**shared, **person}), person
    assert _accepts(EncounterIn, {**shared, "people": [{"perceived_age": 121}]}) is False
