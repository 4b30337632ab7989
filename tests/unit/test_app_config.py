"""Dify's model_config rules: templating, input validation and config validation."""

import pytest

from studio.core.app_config import (
    default_config,
    normalise_config,
    parse_config,
    render_template,
    template_variables,
    validate_inputs,
)
from studio.core.entities import AppMode
from studio.core.errors import ValidationError


def form(*items):
    return parse_config({"user_input_form": list(items)}).inputs()


def test_render_fills_slots_and_keeps_unknown_ones():
    assert render_template("Hi {{name}}, {{missing}}", {"name": "Ada"}) == "Hi Ada, {{missing}}"


def test_render_escapes_template_syntax_inside_values():
    assert render_template("Q: {{q}}", {"q": "{{name}} <|im_end|>x"}) == "Q: {name} x"


def test_template_variables_in_order_without_specials():
    assert template_variables("{{b}} {{a}} {{b}} {{#query#}}") == ["b", "a"]


def test_required_input_missing_names_the_field():
    fields = form({"text-input": {"variable": "topic", "label": "Topic", "required": True}})
    with pytest.raises(ValidationError, match="Topic is required in input form"):
        validate_inputs(fields, {})


def test_optional_input_gets_default():
    fields = form({"text-input": {"variable": "t", "required": False, "default": "x"}})
    assert validate_inputs(fields, {}) == {"t": "x"}


def test_max_length_and_select_options():
    fields = form(
        {"paragraph": {"variable": "p", "label": "Text", "max_length": 3}},
        {"select": {"variable": "s", "label": "Tone", "options": ["calm", "loud"]}},
    )
    with pytest.raises(ValidationError, match="at most 3 characters"):
        validate_inputs(fields, {"p": "long", "s": "calm"})
    with pytest.raises(ValidationError, match="Tone in input form must be one of: calm, loud"):
        validate_inputs(fields, {"p": "ok", "s": "wild"})
    assert validate_inputs(fields, {"p": "ok", "s": "loud"}) == {"p": "ok", "s": "loud"}


def test_number_accepts_numeric_strings_and_rejects_words():
    fields = form({"number": {"variable": "n", "label": "Count"}})
    assert validate_inputs(fields, {"n": "3"}) == {"n": 3}
    assert validate_inputs(fields, {"n": "2.5"}) == {"n": 2.5}
    with pytest.raises(ValidationError, match="Count in input form must be a number"):
        validate_inputs(fields, {"n": "three"})


def test_bad_variable_name_and_duplicates_are_named():
    with pytest.raises(ValidationError, match="not a valid variable name"):
        parse_config({"user_input_form": [{"text-input": {"variable": "1bad"}}]})
    with pytest.raises(ValidationError, match="'x' is defined more than once"):
        parse_config({"user_input_form": [{"text-input": {"variable": "x"}}, {"number": {"variable": "x"}}]})


def test_wrong_type_in_model_params_is_named():
    cfg = default_config(AppMode.CHAT)
    cfg["model"]["completion_params"]["temperature"] = "hot"
    with pytest.raises(ValidationError, match="temperature"):
        parse_config(cfg)


def test_unknown_keys_survive_normalisation():
    cfg = default_config(AppMode.CHAT, "Be brief.")
    cfg["something_from_dify"] = {"keep": [1, 2]}
    cfg["model"]["completion_params"]["presence_penalty"] = 0.5
    out = normalise_config(cfg)
    assert out["something_from_dify"] == {"keep": [1, 2]}
    assert out["model"]["completion_params"]["presence_penalty"] == 0.5
    assert out["pre_prompt"] == "Be brief."


def test_completion_defaults_have_no_chat_only_keys():
    cfg = default_config(AppMode.COMPLETION)
    assert "opening_statement" not in cfg and "more_like_this" in cfg
