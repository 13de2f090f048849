"""Region descriptions by the LLM (prompt `region-<v>`), checked against their context, template fallback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractors.llm.answer import AnswerError, RegionAnswer, parse_answer, response_format
from extractors.llm.cache import LlmResponseCache, answers_for
from extractors.llm.client import LlmCallError, OpenAIChatClient
from extractors.llm.findings import FALLBACK_FLAG
from extractors.llm.prompts import PromptTemplate
from extractors.llm.regions import check_description, context_json, template_description

DESCRIPTION_FLAG = "region_description"


@dataclass(frozen=True)
class Description:
    text: str
    method: str  # "llm" | "template" (GROUNDING_METHODS)
    flags: tuple[str, ...]
    prompt_ref: str | None = None  # prompt tag : input hash, for LLM answers


def template_only(ctx: dict[str, Any]) -> Description:
    return Description(template_description(ctx), "template", (DESCRIPTION_FLAG,))


class LlmRegionDescriber:
    """Contexts → Descriptions through an OpenAI-compatible endpoint, cached like findings."""

    def __init__(self, client: OpenAIChatClient, prompt: PromptTemplate, cache: LlmResponseCache | None = None) -> None:
        self.client, self.prompt, self.cache = client, prompt, cache
        self._format = response_format(RegionAnswer, "region_description")

    def request(self, ctx: dict[str, Any], template: str) -> dict[str, Any]:
        messages = self.prompt.messages(modality=str(ctx.get("modality") or "medical"), context=context_json(ctx),
                                        template=template)
        return self.client.body(messages, self._format, **self.prompt.sampling)

    def describe_many(self, contexts: Sequence[dict[str, Any]]) -> list[Description]:
        templates = [template_description(c) for c in contexts]
        bodies = [self.request(c, t) for c, t in zip(contexts, templates, strict=True)]
        answers = answers_for(self.client, self.cache, self.prompt.tag, bodies)
        return [self.one(c, t, a) for c, t, a in zip(contexts, templates, answers, strict=True)]

    def one(self, ctx: dict[str, Any], template: str, answer: tuple[str, str | LlmCallError, bool]) -> Description:
        key, content, cached = answer
        ref = f"{self.prompt.tag}:{key}"
        if isinstance(content, LlmCallError):
            return self.fall_back(template, content.kind)
        try:
            text = " ".join(parse_answer(content, RegionAnswer).description.split())
        except AnswerError as err:
            return self.fall_back(template, err.kind)
        problem = check_description(text, ctx, template)
        if problem is not None:
            return self.fall_back(template, problem)
        if not cached and self.cache is not None:
            self.cache.put(self.client.settings.model, self.prompt.tag, key, content)
        return Description(text, "llm", (DESCRIPTION_FLAG,), ref)

    @staticmethod
    def fall_back(template: str, kind: str) -> Description:
        return Description(template, "template", (DESCRIPTION_FLAG, FALLBACK_FLAG, f"llm_error:{kind}"))
