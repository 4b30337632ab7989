"""Dify's code-node output checks (no processes): declared types, CODE_MAX_* limits, depth and the error texts."""

from __future__ import annotations

import pytest

from studio.core.code import CodeLimits, CodeOutput
from studio.sandbox.outputs import OutputError, check_outputs

LIM = CodeLimits()


def decl(spec: dict) -> dict[str, CodeOutput]:
    return {name: CodeOutput.model_validate(value) for name, value in spec.items()}


def fails(result, schema, limits=LIM) -> OutputError:
    with pytest.raises(OutputError) as info:
        check_outputs(result, decl(schema) if schema is not None else None, limits)
    return info.value


def test_declared_types_pass_and_nul_bytes_are_removed():
    schema = {"s": {"type": "string"}, "n": {"type": "number"}, "b": {"type": "boolean"},
              "o": {"type": "object", "children": {"k": {"type": "array[number]"}}},
              "as": {"type": "array[string]"}, "ao": {"type": "array[object]"}, "ab": {"type": "array[boolean]"}}
    result = {"s": "a\x00b", "n": 1.5, "b": True, "o": {"k": [1, 2]}, "as": ["x", None], "ao": [{"z": 1}, None],
              "ab": [True, False]}
    assert check_outputs(result, decl(schema), LIM) == {**result, "s": "ab"}


def test_none_is_accepted_for_every_type():
    schema = {t: {"type": t} for t in ("string", "number", "object", "array[string]", "array[object]")}
    assert check_outputs(dict.fromkeys(schema), decl(schema), LIM) == dict.fromkeys(schema)


@pytest.mark.parametrize("result,schema,message", [
    ({"x": 1}, {"x": {"type": "string"}}, "Output variable `x` must be a string"),
    ({"x": "1"}, {"x": {"type": "number"}}, "Output variable `x` must be a number"),
    ({"x": 1}, {"x": {"type": "boolean"}}, "Output variable `x` must be a boolean"),
    ({"x": [1]}, {"x": {"type": "object"}}, "Output x is not an object, got <class 'list'> instead."),
    ({"x": "s"}, {"x": {"type": "array[string]"}}, "Output x is not an array, got <class 'str'> instead."),
    ({"x": [1]}, {"x": {"type": "array[object]"}},
     "Output x[0] is not an object, got <class 'int'> instead at index 0."),
    ({"x": {"y": 1}}, {"x": {"type": "object", "children": {"y": {"type": "string"}}}},
     "Output variable `x.y` must be a string"),
    ({}, {"x": {"type": "string"}}, "Output x is missing."),
    ({"x": 2**63}, {"x": {"type": "number"}},
     "Output variable `x` is out of range, it must be between -9223372036854775807 and 9223372036854775807."),
    ({"x": "y" * 400001}, {"x": {"type": "string"}},
     "The length of output variable `x` must be less than 400000 characters"),
    ({"x": ["a"] * 31}, {"x": {"type": "array[string]"}},
     "The length of output variable `x` must be less than 30 elements."),
    ({"x": [{}] * 31}, {"x": {"type": "array[object]"}},
     "The length of output variable `x` must be less than 30 elements."),
    ({"x": [1] * 1001}, {"x": {"type": "array[number]"}},
     "The length of output variable `x` must be less than 1000 elements."),
    ({"x": 1}, {"x": {"type": "file"}}, "Output type file is not supported."),
])
def test_dify_error_texts(result, schema, message):
    err = fails(result, schema)
    assert err.message == message and err.error_type == "OutputValidationError"


def test_precision_limit():
    err = fails({"x": 0.5}, {"x": {"type": "number"}}, CodeLimits(max_precision=0))
    assert err.message == "Output variable `x` has too high precision, it must be less than 0 digits."


def test_undeclared_keys_fail_like_dify_and_name_the_keys():
    err = fails({"a": 1, "b": 2}, {"a": {"type": "number"}})
    assert err.error_type == "CodeNodeError"
    assert err.message.startswith("Not all output parameters are validated.") and "`b`" in err.message
    assert fails({"a": 1}, {}).error_type == "CodeNodeError"  # no declarations: no outputs, as in Dify


def test_depth_limit_declared_and_undeclared():
    five = {"a": {"b": {"c": {"d": {"e": 1}}}}}  # five objects, the result itself included: allowed
    six = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    assert check_outputs(five, None, LIM) == five
    err = fails(six, None)
    assert err.error_type == "DepthLimitError" and err.message == "Depth limit 5 reached, object too deep."
    def nest(keys: str, leaf: dict) -> dict:
        for key in reversed(keys):
            leaf = {"type": "object", "children": {key: leaf}}
        return leaf

    assert check_outputs(five, decl({"a": nest("bcd", {"type": "object", "children": {"e": {"type": "number"}}})}),
                         LIM) == five
    assert fails(six, {"a": nest("bcde", {"type": "object", "children": {"f": {"type": "number"}}})}).error_type \
        == "DepthLimitError"
    deep_list: list = [1]
    for _ in range(10):
        deep_list = [deep_list]
    assert fails({"x": deep_list}, None).error_type == "DepthLimitError"


def test_undeclared_values_are_checked_by_their_own_type():
    ok = {"s": "x", "n": 1, "f": 1.5, "b": False, "none": None, "l": [1, 2.5], "o": {"k": ["a", None]}}
    assert check_outputs(ok, None, LIM) == ok
    assert fails({"x": [1, "a"]}, None).message.startswith("Output x is not a valid array.")
    assert fails({"x": float("nan")}, None).message == "Output variable `x` must be a finite number, got nan"
    assert fails({"x": {"y": "z" * 400001}}, None).message.startswith("The length of output variable `x.y`")
