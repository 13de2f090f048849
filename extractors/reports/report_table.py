"""Reports (id + text columns) → FINDING rows: what `medground findings extract` runs, as a library.

Engines: the rule extractor (`rule_rows`), or an OpenAI-compatible LLM endpoint (`llm_rows_fn`, the
extractor the `findings.llm` stage builds: same prompt, schema validation and repair, FINDING rows with
extractor="llm"; the report's sections are given, so spans get their section as rule rows do).

With several text columns each becomes a section of the report text ("FINDINGS: ...\\n\\nIMPRESSION:
..."), so spans index that text; with one column the text is the cell as is. The development
evaluation (extractors.reports.evaluation.harness) composes and extracts through here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.findings_table import finding_rows
from extractors.reports.sections import split_sections
from schemas.ontology import Ontology

Rows = list[dict[str, Any]]


def compose_text(row: Mapping[str, str | None], cols: Sequence[str]) -> str:
    if len(cols) == 1:
        return row.get(cols[0]) or ""
    parts = [f"{c.upper()}: {(row.get(c) or '').strip()}" for c in cols if (row.get(c) or "").strip()]
    return "\n\n".join(parts)


def rule_rows(
    extractor: ReportFindingExtractor,
    ids: Sequence[str],
    texts: Sequence[str],
    *,
    source: str = "user",
    batch_size: int = 64,
) -> list[dict[str, Any]]:
    """FINDING rows (extractor="rules") of every report, in report order."""
    out: list[dict[str, Any]] = []
    for rid, mentions in zip(ids, extractor.extract_many(texts, batch_size), strict=True):
        out.extend(finding_rows(mentions, extractor.onto, report_id=rid, source=source))
    return out


def llm_rows_fn(
    base_url: str,
    model: str,
    onto: Ontology,
    *,
    max_concurrency: int = 4,
    timeout_s: float = 60.0,
    prompt_version: str = "1",
    fallback: bool = False,
    api_key_env: str | None = None,
    source: str = "user",
) -> Callable[[Sequence[str], Sequence[str]], tuple[Rows, set[str]]]:
    """(ids, texts) → (FINDING rows, ids of reports the LLM did not answer). With `fallback`, those
    reports get the rule rows flagged `llm_fallback` (the stage's default); without, no rows."""
    from extractors.llm.client import EndpointSettings, OpenAIChatClient
    from extractors.llm.findings import LlmFindingExtractor, rules_fallback
    from extractors.llm.prompts import load_prompt

    settings = EndpointSettings(base_url=base_url, model=model, api_key_env=api_key_env,
                                max_concurrency=max_concurrency, timeout_s=timeout_s)
    ex = LlmFindingExtractor(OpenAIChatClient(settings), onto, load_prompt("findings", prompt_version),
                             fallback=rules_fallback(onto) if fallback else None)

    def run(ids: Sequence[str], texts: Sequence[str]) -> tuple[Rows, set[str]]:
        reports = [{"report_id": rid, "source": source, "text": text,
                    "sections": [{"name": s.name, "start": s.start, "end": s.end} for s in split_sections(text)]}
                   for rid, text in zip(ids, texts, strict=True)]
        outcomes = ex.extract_many(reports, [None] * len(reports))
        return ([row for o in outcomes for row in o.rows],
                {o.report_id for o in outcomes if o.status in ("failed", "fallback")})

    return run
