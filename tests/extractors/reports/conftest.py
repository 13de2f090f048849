"""One rule-based extractor (spaCy pipeline + ontology matcher) shared by the report tests."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import Mention, ReportFindingExtractor


@pytest.fixture(scope="session")
def extractor() -> ReportFindingExtractor:
    return ReportFindingExtractor()


def only(mentions: list[Mention], code: str) -> Mention:
    found = [m for m in mentions if m.code == code]
    assert len(found) == 1, [(m.code, m.text) for m in mentions]
    return found[0]
