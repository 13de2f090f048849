"""The JSON schema of the model's answers, and their parsing/validation.

The schema is generated from pydantic models (strict: every key required, no extra keys), sent as
OpenAI `response_format={"type": "json_schema", ...}` (vLLM: guided JSON), and enforced again on
return — a server that ignores `response_format` is caught here, not trusted.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.tables import CERTAINTIES, LATERALITIES

Certainty = Literal["present", "absent", "uncertain"]
Laterality = Literal["left", "right", "bilateral", "none"]
assert set(Certainty.__args__) == set(CERTAINTIES) and set(Laterality.__args__) == set(LATERALITIES)  # type: ignore[attr-defined]

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingAnswer(_Strict):
    phrase: str = Field(min_length=1, max_length=300)
    start: int | None
    sentence: str | None
    code: str = Field(min_length=1, max_length=120)
    certainty: Certainty
    laterality: Laterality
    location_codes: list[str]
    size_mm: list[float]
    severity: str | None
    change: str | None


class FindingsAnswer(_Strict):
    findings: list[FindingAnswer] = Field(max_length=200)


class RegionAnswer(_Strict):
    description: str = Field(min_length=3, max_length=600)


M = TypeVar("M", bound=BaseModel)


class AnswerError(ValueError):
    """The content is not valid JSON (`invalid_json`) or does not match the schema (`schema`)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def response_format(model: type[BaseModel], name: str) -> dict[str, Any]:
    """OpenAI structured-output `response_format` for `model`."""
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": json_schema(model)}}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    _require_all(schema)
    for sub in schema.get("$defs", {}).values():
        _require_all(sub)
    return schema


def _require_all(schema: dict[str, Any]) -> None:
    if "properties" in schema:
        schema["required"] = sorted(schema["properties"])
        schema["additionalProperties"] = False


def parse_answer(content: str, model: type[M]) -> M:
    """The validated answer; tolerates a ```json fence around it. Raises AnswerError."""
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except ValueError as err:
        raise AnswerError("invalid_json", f"not JSON ({err.msg})") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        where = "; ".join(".".join(str(p) for p in e["loc"]) + f": {e['type']}" for e in err.errors()[:5])
        raise AnswerError("schema", f"schema violation: {where}") from None
