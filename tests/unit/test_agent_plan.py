"""An agent app's plan (its tools and max_iteration) and what the step grammar lets a model write."""

from __future__ import annotations

import re

import pytest

from studio.core.errors import ValidationError
from studio.core.events import AgentThought
from studio.services.agent import DEFAULT_MAX_ITERATION, choice_schema, plan_of
from studio.tools import ToolRegistry
from tests.agents import MATHS, SEARCH, TIME

REGISTRY = ToolRegistry.builtin()


def _fullmatch(schema: dict, text: str) -> bool:
    return re.fullmatch(schema["pattern"].strip("^$"), text) is not None


def test_plan_keeps_enabled_tools_with_their_presets():
    plan = plan_of({"agent_mode": {"tools": [TIME, {**MATHS, "enabled": False}, {"dataset": {"id": "kb"}}],
                                   "max_iteration": 3}}, REGISTRY)
    assert [t.name for t in plan.tools] == ["current_time"] and plan.max_iteration == 3
    assert plan.tools[0].presets == {"format": "%Y-%m-%d %H:%M:%S", "timezone": "UTC"}


def test_plan_names_a_missing_tool():
    with pytest.raises(ValidationError, match="google/google_search is not available"):
        plan_of({"agent_mode": {"tools": [SEARCH]}}, REGISTRY)


@pytest.mark.parametrize(("given", "used"), [(None, DEFAULT_MAX_ITERATION), ("", DEFAULT_MAX_ITERATION), (0, 1),
                                             ("4", 4), (500, 99)])
def test_max_iteration_is_clamped_like_dify(given, used):
    assert plan_of({"agent_mode": {"tools": [], "max_iteration": given}}, REGISTRY).max_iteration == used


def test_max_iteration_must_be_a_number():
    with pytest.raises(ValidationError, match="max_iteration"):
        plan_of({"agent_mode": {"max_iteration": "many"}}, REGISTRY)


def test_model_strings_are_json_without_raw_control_characters():
    content = REGISTRY.find("builtin", "json_process", "parse").input_schema()["properties"]["content"]
    assert _fullmatch(content, '{\\"a\\": [1, 2]}') and _fullmatch(content, "plain text")
    assert not _fullmatch(content, "two\nlines") and not _fullmatch(content, 'a "bare" quote')
    assert not _fullmatch(content, "")  # required: at least one character


def test_an_expression_keeps_to_arithmetic():
    expression = REGISTRY.find("builtin", "maths", "eval_expression").input_schema()["properties"]["expression"]
    for ok in ("12 * 7", "sqrt(16) + 2^3", "-(1.5 + 2)"):
        assert _fullmatch(expression, ok), ok
    for bad in (") 3 * 4", ", 12 * 7", "The answer is\n84", ""):
        assert not _fullmatch(expression, bad), bad


def test_choice_schema_offers_each_tool_and_the_answer():
    plan = plan_of({"agent_mode": {"tools": [TIME, MATHS]}}, REGISTRY)
    assert choice_schema(list(plan.tools))["properties"]["action"]["enum"] == [
        "current_time", "eval_expression", "final_answer"]


def test_thought_values_drop_difys_tool_name_keys():
    step = AgentThought(id="t", message_id="m", position=1, tool="eval_expression",
                        tool_input='{"eval_expression": {"expression": "1 + 1"}}',
                        observation='{"eval_expression": "The result is 2"}')
    assert step.input_value() == {"expression": "1 + 1"} and step.observation_value() == "The result is 2"
    assert AgentThought(id="t", message_id="m", position=1, observation="plain").observation_value() == "plain"
