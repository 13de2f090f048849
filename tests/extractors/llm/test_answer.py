"""The answers' JSON schema (strict) and their parsing, and the versioned prompt templates."""

from __future__ import annotations

import json

import pytest

from extractors.llm.answer import AnswerError, FindingsAnswer, RegionAnswer, parse_answer, response_format
from extractors.llm.prompts import available_prompts, load_prompt
from schemas.errors import ConfigError

GOOD = {"findings": [{"phrase": "effusion", "start": 3, "sentence": None, "code": "pleural_effusion",
                      "certainty": "present", "laterality": "left", "location_codes": [], "size_mm": [],
                      "severity": None, "change": None}]}


def test_response_format_is_strict() -> None:
    fmt = response_format(FindingsAnswer, "findings")
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    item = fmt["json_schema"]["schema"]["$defs"]["FindingAnswer"]
    assert item["additionalProperties"] is False and set(item["required"]) == set(item["properties"])
    assert item["properties"]["certainty"]["enum"] == ["present", "absent", "uncertain"]


def test_parse_good_and_fenced() -> None:
    assert parse_answer(json.dumps(GOOD), FindingsAnswer).findings[0].code == "pleural_effusion"
    assert parse_answer(f"```json\n{json.dumps(GOOD)}\n```", FindingsAnswer).findings[0].start == 3


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ('{"findings": [', "invalid_json"),
        ("Sure! Here are the findings", "invalid_json"),
        ('{"findings": [{"phrase": "x"}]}', "schema"),
        (json.dumps({"findings": [{**GOOD["findings"][0], "certainty": "probable"}]}), "schema"),
        (json.dumps({**GOOD, "extra": 1}), "schema"),
        ('{"description": ""}', "schema"),
    ],
)
def test_bad_answers_are_named(content: str, kind: str) -> None:
    model = RegionAnswer if "description" in content else FindingsAnswer
    with pytest.raises(AnswerError) as err:
        parse_answer(content, model)
    assert err.value.kind == kind


def test_prompts_are_versioned_data() -> None:
    assert {"findings-v1", "region-v1"} <= set(available_prompts())
    prompt = load_prompt("findings", "1")
    assert prompt.tag == "findings-v1" and prompt.sampling["temperature"] == 0.0
    msgs = prompt.messages(text="No effusion.", finding_codes="a, b", anatomy_codes="c")
    assert [m["role"] for m in msgs] == ["system", "user"] and "No effusion." in msgs[1]["content"]
    with pytest.raises(KeyError):
        prompt.messages(text="x")  # every placeholder must be filled
    with pytest.raises(ConfigError, match="findings-v1"):
        load_prompt("findings", "99")
