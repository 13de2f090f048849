"""Laterality grid: every sided mention of the rule grid × side wordings (data/rule_grid/sides.tsv), checked in
the --laterality-out JSONL rows of label_export. Project-written: a unit test, not evidence of accuracy."""

from __future__ import annotations

from functools import cache

import pytest

from extractors.reports.attributes import BOTH, LEFT, PAIRED_PLURALS, RIGHT
from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.findings_table import finding_rows
from extractors.reports.label_export import export_labels
from tests.extractors.reports.test_rule_grid import FILLERS, LABEL_SET, GridMention, conflicts, mentions, rows_of

UNSIDED = frozenset({"-", "Cardiomegaly", "Hernia"})
# forms of a sided label whose own site is unpaired: a pericardial effusion (an Effusion under chestxray14 by NegBio's
# ChestX-ray14 CUI list) lies around the heart and never takes a side
UNSIDED_FORMS = frozenset({"pericardial effusion"})


@cache
def sides() -> tuple[tuple[str, str, str, str], ...]:
    return tuple((i, t, side, plural) for i, t, side, plural, _src in rows_of("sides.tsv", 5))


def sided_mentions() -> list[GridMention]:
    """Nominal grid mentions of a sided label, without a side of their own and without an all-template conflict."""
    return [m for m in mentions() if m.kind == "nominal" and m.label not in UNSIDED and m.form not in UNSIDED_FORMS
            and not set(m.form.lower().split()) & (LEFT | RIGHT | BOTH) and ("*", m.form) not in conflicts()]


def expected(side: str, plural: str, m: GridMention) -> str:
    """The side of the row, or its plural side for a plural of a paired finding ("pleural effusions")."""
    return plural if m.form.split()[-1] in PAIRED_PLURALS else side


def render(template: str, m: GridMention) -> str:
    filler = next(f for f, label in FILLERS if label != m.label and f not in m.form)
    text = template.replace("{X}", m.form).replace("{A}", filler).replace("{is}", "is" if m.number == "sg" else "are")
    return text[0].upper() + text[1:]


@pytest.fixture(scope="module")
def side_grid(extractor: ReportFindingExtractor) -> dict[str, list[str]]:
    cells = [(sid, render(t, m), m.label, expected(side, plural, m))
             for sid, t, side, plural in sides() for m in sided_mentions()]
    out: dict[str, list[str]] = {sid: [] for sid, *_ in sides()}
    texts = [text for _, text, _, _ in cells]
    for n, ((sid, text, label, side), found) in enumerate(zip(cells, extractor.extract_many(texts), strict=True)):
        rows = finding_rows(found, extractor.onto, report_id=f"r{n}", source="grid")
        recs = export_labels(rows, [f"r{n}"], extractor.onto, LABEL_SET).jsonl_rows()
        got = {r["finding"]: r["laterality"] for r in recs}.get(label, "no row")
        if got != side:
            out[sid].append(f"{text!r}: {label} {got} != {side}")
    return out


@pytest.mark.parametrize("side_id", [s[0] for s in sides()])
def test_side_wording(side_grid: dict[str, list[str]], side_id: str) -> None:
    failures = side_grid[side_id]
    assert not failures, f"{len(failures)} cells fail:\n" + "\n".join(failures[:15])


def test_side_grid_size() -> None:
    assert len(sides()) * len(sided_mentions()) > 1000
