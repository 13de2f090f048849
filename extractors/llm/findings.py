"""The LLM findings extractor: reports in, the same FINDING rows as the rule extractor out.

Per report: render the versioned prompt, look the answer up in the cache (model, prompt version,
input hash), otherwise call the endpoint (many reports concurrently, bounded), validate the answer
against the JSON schema, repair it against the text and the ontology (extractors.llm.repair), and
cache it. A report whose answer never comes back (timeouts, 429, 5xx after the retries) or comes back
as invalid JSON / off-schema falls back to the rule extractor; those rows carry `llm_fallback` and
`llm_error:<kind>`. Nothing is lost: a report with neither becomes a `failed` outcome for the stage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from extractors.llm.answer import AnswerError, FindingsAnswer, parse_answer, response_format
from extractors.llm.cache import LlmResponseCache, answers_for
from extractors.llm.client import LlmCallError, OpenAIChatClient
from extractors.llm.prompts import PromptTemplate
from extractors.llm.repair import Provenance, Rejected, answer_rows
from schemas.ontology import Ontology

Report = dict[str, Any]
FallbackFn = Callable[[Report, "str | None"], list[dict[str, Any]]]
FALLBACK_FLAG = "llm_fallback"
OUTCOMES = ("llm", "cache", "fallback", "failed")


@dataclass
class ReportOutcome:
    """What happened to one report: rows to emit, rejects to quarantine/flag, and how it was answered."""

    report_id: str
    status: str  # one of OUTCOMES
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)
    error: str | None = None  # LlmCallError / AnswerError kind when status is fallback|failed
    prov: Provenance | None = None


def rules_fallback(onto: Ontology) -> FallbackFn:
    """The rule extractor (extractors.reports) as a fallback; imported here so it loads only when used."""
    from extractors.reports.extractor import ReportFindingExtractor
    from extractors.reports.findings_table import finding_rows

    extractor = ReportFindingExtractor(onto)

    def run(report: Report, image_id: str | None) -> list[dict[str, Any]]:
        return finding_rows(extractor.extract(report.get("text") or ""), onto, report_id=report["report_id"],
                            source=report["source"], study_id=report.get("study_id"), image_id=image_id)

    return run


def code_lists(onto: Ontology) -> dict[str, str]:
    """The allowed codes the prompt lists, sorted (deterministic prompts → stable cache keys)."""
    kinds = {c: onto.get(c).kind for c in sorted(onto.nodes)}
    return {
        "finding_codes": ", ".join(c for c, k in kinds.items() if k in ("finding", "device")),
        "anatomy_codes": ", ".join(c for c, k in kinds.items() if k == "anatomy"),
    }


class LlmFindingExtractor:
    """Reports → ReportOutcomes through an OpenAI-compatible endpoint, with cache and fallback."""

    def __init__(
        self,
        client: OpenAIChatClient,
        onto: Ontology,
        prompt: PromptTemplate,
        cache: LlmResponseCache | None = None,
        fallback: FallbackFn | None = None,
    ) -> None:
        self.client, self.onto, self.prompt, self.cache, self.fallback = client, onto, prompt, cache, fallback
        self.model = client.settings.model
        self._codes = code_lists(onto)
        self._format = response_format(FindingsAnswer, "findings")

    def request(self, report: Report) -> dict[str, Any]:
        messages = self.prompt.messages(text=report.get("text") or "", **self._codes)
        return self.client.body(messages, self._format, **self.prompt.sampling)

    def extract_many(self, reports: Sequence[Report], image_ids: Sequence[str | None]) -> list[ReportOutcome]:
        answers = answers_for(self.client, self.cache, self.prompt.tag, [self.request(r) for r in reports])
        return [
            self.outcome(report, image_id, key, content, cached)
            for report, image_id, (key, content, cached) in zip(reports, image_ids, answers, strict=True)
        ]

    def outcome(self, report: Report, image_id: str | None, key: str, content: object, cached: bool) -> ReportOutcome:
        prov = Provenance(self.model, self.prompt.tag, key)
        if isinstance(content, LlmCallError):
            return self.fall_back(report, image_id, content.kind, prov)
        assert isinstance(content, str)
        try:
            answer = parse_answer(content, FindingsAnswer)
        except AnswerError as err:
            return self.fall_back(report, image_id, err.kind, prov)
        if not cached and self.cache is not None:
            self.cache.put(self.model, self.prompt.tag, key, content)
        rows, rejects = answer_rows(answer.findings, report, self.onto, prov, image_id)
        return ReportOutcome(report["report_id"], "cache" if cached else "llm", rows, rejects, prov=prov)

    def fall_back(self, report: Report, image_id: str | None, kind: str, prov: Provenance) -> ReportOutcome:
        if self.fallback is None:
            return ReportOutcome(report["report_id"], "failed", error=kind, prov=prov)
        rows = self.fallback(report, image_id)
        for row in rows:
            row["flags"] = sorted({*(row.get("flags") or []), FALLBACK_FLAG, f"llm_error:{kind}"})
        return ReportOutcome(report["report_id"], "fallback", rows, error=kind, prov=prov)
