"""Fixtures of the LLM tests: the ontology, a report, the rule fallback, and clients of the server double."""

from __future__ import annotations

from typing import Any

import pytest

from extractors.llm.client import EndpointSettings, OpenAIChatClient
from schemas.ontology import Ontology, load_ontology
from schemas.tables import REPORT_SCHEMA, empty_row

TEXT = "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: Effusion."
TABLE: dict[str, dict[str, Any]] = {
    "left pleural effusion": {"code": "pleural_effusion", "laterality": "left", "severity": "small"},
    "pneumothorax": {"code": "pneumothorax", "certainty": "absent"},
}


def report(rid: str = "r1", text: str = TEXT) -> dict[str, Any]:
    rec = empty_row(REPORT_SCHEMA)
    rec.update(report_id=rid, study_id="st1", source="sources.iu_xray", text=text,
               sections=[{"name": "findings", "start": 0, "end": 55}, {"name": "impression", "start": 56,
                                                                       "end": len(text)}])
    return rec


def fast_client(base_url: str, **kw: Any) -> OpenAIChatClient:
    settings = {"model": "double-llm", "timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.01, "max_concurrency": 4}
    return OpenAIChatClient(EndpointSettings(base_url=base_url, **{**settings, **kw}))


@pytest.fixture(scope="session")
def onto() -> Ontology:
    return load_ontology()


@pytest.fixture(scope="session")
def rules(onto: Ontology):
    from extractors.llm.findings import rules_fallback

    return rules_fallback(onto)
