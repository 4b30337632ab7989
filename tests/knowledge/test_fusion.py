"""Score fusion and metadata filters: the small pure functions hybrid retrieval is built from."""

import pytest

from studio.core.errors import ValidationError
from studio.knowledge import fusion
from studio.knowledge.metadata import matches


def test_bm25_maps_monotonically_into_unit_range():
    values = [fusion.bm25_to_unit(s) for s in (0, 0.5, 3, 8, 40, 1e6)]
    assert values == sorted(values) and values[0] == 0.0 and values[3] == 0.5 and values[-1] < 1.0


def test_scaled_gives_the_best_one():
    assert fusion.scaled({"a": 4.0, "b": 1.0, "c": 0.0}) == {"a": 1.0, "b": 0.25, "c": 0.0}
    assert fusion.scaled({"a": 0.0}) == {"a": 0.0} and fusion.scaled({}) == {}


def test_reciprocal_rank_fusion():
    fused = fusion.reciprocal_rank(["a", "b", "c"], ["a", "c"])
    assert fused["a"] == pytest.approx(1.0) and fused["c"] > fused["b"]
    assert fusion.reciprocal_rank() == {}


@pytest.mark.parametrize("op,value,expected", [
    ("contains", "zoo", True), ("not contains", "zoo", False), ("start with", "the", True),
    ("end with", "guide", True), ("is", "the zoo guide", True), ("is not", "x", True),
    ("empty", None, False), ("not empty", None, True), ("in", "a, the zoo guide", True), ("not in", "a,b", True),
])
def test_text_operators(op, value, expected):
    cond = {"conditions": [{"name": "title", "comparison_operator": op, "value": value}]}
    assert matches({"title": "the zoo guide"}, cond) is expected


def test_number_and_date_operators_and_logic():
    meta = {"year": 2024, "date": "2024-05-01"}
    cond = lambda op, name, v: {"name": name, "comparison_operator": op, "value": v}  # noqa: E731
    assert matches(meta, {"conditions": [cond(">", "year", "2020"), cond("<", "year", 2030)]})
    assert not matches(meta, {"conditions": [cond(">", "year", "2025"), cond("=", "year", 2024)]})
    assert matches(meta, {"logical_operator": "or", "conditions": [cond(">", "year", "2025"), cond("=", "year", 2024)]})
    assert matches(meta, {"conditions": [cond("before", "date", "2024-06-01")]})
    assert not matches({}, {"conditions": [cond("≥", "year", 1)]})


def test_bad_conditions_name_the_problem():
    with pytest.raises(ValidationError, match="logical_operator"):
        matches({}, {"logical_operator": "xor", "conditions": []})
    with pytest.raises(ValidationError, match="needs a name"):
        matches({}, {"conditions": [{"comparison_operator": "is"}]})
