"""The rule grid: every public mention phrase × every NegBio/CheXpert negation, uncertainty and positive pattern.

The mentions (data/rule_grid/mentions.tsv) render the CheXpert labeler's mention/unmention lists and NegBio's
ChestX-ray14 concept phrases (copied verbatim under extractors/reports/data/chexpert_phrases/ and
extractors/reports/data/negbio/); the templates (data/rule_grid/templates.tsv) render the labeler's and NegBio's
negation/uncertainty patterns and ConText triggers as sentences. Each cell runs the real extractor and the
label export (`findings labels --label-set chestxray14`, default --uncertain probable) and checks the
certainty of the mention and all 14 labels. Cells whose expectation we deliberately change are listed with a
reason in data/rule_grid/conflicts.tsv (asserted with their own expectation, never skipped).

This grid is gold the project wrote from rule definitions: it is a unit test of the rules, not evidence of
accuracy on real reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from extractors.reports.extractor import Mention, ReportFindingExtractor
from extractors.reports.label_export import export_labels
from extractors.reports.rules import DATA_DIR

GRID_DIR = Path(__file__).resolve().parent / "data" / "rule_grid"
LABEL_SET = "chestxray14"
POSITIVE = frozenset({"present", "probable"})
# Filler findings of the list templates; the first two whose label differs from the mention's are used.
FILLERS = (("pneumothorax", "Pneumothorax"), ("pleural effusion", "Effusion"), ("consolidation", "Consolidation"),
           ("edema", "Edema"))
NEGBIO_CXR14 = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Hernia",
                "Infiltration", "Pleural Effusion", "Pleural Thickening", "Pneumonia", "Pneumothorax", "Mass", "Nodule")
_SLOT = re.compile(r"\{(X|A|B|is|has|are)\}")


@dataclass(frozen=True)
class GridMention:
    label: str  # chestxray14 label, or "-"
    form: str
    number: str  # sg | pl
    kind: str  # nominal | predicate | unrendered
    source: str
    note: str


@dataclass(frozen=True)
class Template:
    id: str
    text: str
    expect: frozenset[str]
    fillers: str  # certainty of the fillers, "-" when the template has none
    kind: str
    source: str


@dataclass(frozen=True)
class Cell:
    template: Template
    mention: GridMention
    sentence: str
    spans: dict[str, tuple[int, int]]  # slot (X, A, B) → character span in the sentence
    fillers: tuple[tuple[str, str], ...]  # (form, label) of A, B
    expect: frozenset[str]


def rows_of(name: str, columns: int) -> list[list[str]]:
    out = []
    for line in (GRID_DIR / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            parts = line.split("\t")
            assert len(parts) == columns, f"{name}: {line!r}"
            out.append(parts)
    return out


@cache
def mentions() -> tuple[GridMention, ...]:
    return tuple(GridMention(*r) for r in rows_of("mentions.tsv", 6))


@cache
def templates() -> tuple[Template, ...]:
    return tuple(Template(i, t, frozenset(e.split("|")), f, k, s) for i, t, e, f, k, s in rows_of("templates.tsv", 6))


@cache
def conflicts() -> dict[tuple[str, str], frozenset[str]]:
    return {(t, form): frozenset(e.split("|")) for t, form, e, _reason in rows_of("conflicts.tsv", 4)}


def render(t: Template, m: GridMention) -> Cell:
    fillers = tuple(f for f in FILLERS if f[1] != m.label and f[0] not in m.form)[:2]
    values = {"X": m.form, "A": fillers[0][0], "B": fillers[1][0],
              "is": "is" if m.number == "sg" else "are", "has": "has" if m.number == "sg" else "have", "are": "are"}
    out, spans, pos = "", {}, 0
    for match in _SLOT.finditer(t.text):
        out += t.text[pos : match.start()]
        slot = match.group(1)
        if slot in ("X", "A", "B"):
            spans[slot] = (len(out), len(out) + len(values[slot]))
        out += values[slot]
        pos = match.end()
    out += t.text[pos:]
    sentence = out[0].upper() + out[1:]
    used = tuple(f for slot, f in zip("AB", fillers, strict=True) if slot in spans)
    known = conflicts()
    expect = known.get((t.id, m.form), known.get(("*", m.form), known.get((t.id, "*"), t.expect)))
    return Cell(t, m, sentence, spans, used, expect)


@cache
def cells() -> tuple[Cell, ...]:
    return tuple(render(t, m) for t in templates() for m in mentions() if m.kind == t.kind)


def certainty(m: Mention) -> str:
    return "probable" if m.certainty == "uncertain" and "probable" in m.flags else m.certainty


def overlapping(found: list[Mention], span: tuple[int, int]) -> list[Mention]:
    return [m for m in found if m.start < span[1] and span[0] < m.end]


def problems(cell: Cell, found: list[Mention], extractor: ReportFindingExtractor) -> list[str]:
    """What is wrong with one cell (empty when it passes)."""
    out = []
    if cell.mention.label != "-":
        got = {certainty(m) for m in overlapping(found, cell.spans["X"])} or {"none"}
        if not got <= cell.expect:
            out.append(f"X {cell.mention.form!r}: {sorted(got)} not in {sorted(cell.expect)}")
    for slot, (form, _label) in zip("AB", cell.fillers, strict=False):
        got = {certainty(m) for m in overlapping(found, cell.spans[slot])} or {"none"}
        if got != {cell.template.fillers}:
            out.append(f"{slot} {form!r}: {sorted(got)} != {cell.template.fillers}")
    rows = [{"report_id": "r", "code": m.code, "section": m.section, "certainty": m.certainty, "flags": list(m.flags),
             "laterality": m.laterality, "phrase": m.text} for m in found]
    values = export_labels(rows, ["r"], extractor.onto, LABEL_SET).values["r"]
    wanted: dict[str, set[int]] = {}
    if cell.mention.label != "-":
        wanted[cell.mention.label] = {int(c in POSITIVE) for c in cell.expect}
    for _form, label in cell.fillers:
        wanted[label] = {int(cell.template.fillers in POSITIVE)}
    for label, value in values.items():
        if label != "normal" and value not in wanted.get(label, {0}):
            out.append(f"label {label}={value}")
    return out



@pytest.fixture(scope="module")
def grid(extractor: ReportFindingExtractor) -> dict[str, list[str]]:
    """Template id → the failures of its cells."""
    all_cells = cells()
    out: dict[str, list[str]] = {t.id: [] for t in templates()}
    for cell, found in zip(all_cells, extractor.extract_many(c.sentence for c in all_cells), strict=True):
        for p in problems(cell, found, extractor):
            out[cell.template.id].append(f"{cell.sentence!r}: {p}")
    return out


@pytest.mark.parametrize("template_id", [t.id for t in templates()])
def test_grid_template(grid: dict[str, list[str]], template_id: str) -> None:
    failures = grid[template_id]
    assert not failures, f"{len(failures)} cells fail:\n" + "\n".join(failures[:15])


def test_grid_covers_every_public_phrase() -> None:
    """Every phrase of the copied CheXpert lists and of NegBio's 14 ChestX-ray14 concepts has a grid row."""
    covered = {m.source.rsplit(":", 1)[-1] for m in mentions()}
    listed = set()
    for path in sorted((DATA_DIR / "chexpert_phrases").glob("*/*.txt")):
        listed.update(p.strip() for p in path.read_text(encoding="utf-8").splitlines() if p.strip())
    negbio = yaml.safe_load((DATA_DIR / "negbio" / "cxr14_phrases.yml").read_text(encoding="utf-8"))
    for label in NEGBIO_CXR14:
        listed.update(p.strip() for rule in ("include", "exclude") for p in negbio[label].get(rule, []))
    assert listed - covered == set()
    assert all(m.note != "-" for m in mentions() if m.kind == "unrendered" or m.label == "-")


def test_grid_is_well_formed() -> None:
    kinds = {m.kind for m in mentions()}
    assert kinds <= {"nominal", "predicate", "unrendered"}
    assert all(t.expect <= {"present", "absent", "uncertain", "probable", "none"} for t in templates())
    assert len({t.id for t in templates()}) == len(templates())
    ids = {t.id for t in templates()}
    assert all(t in ids or t == "*" for t, _ in conflicts())
    forms = {m.form for m in mentions()}
    assert all(f in forms or f == "*" for _, f in conflicts())
    assert len(cells()) > 3000
