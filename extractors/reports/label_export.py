"""FINDING rows → report-level labels and per-label laterality rows (what `medground findings labels` writes).

The CLI and the development evaluation (extractors.reports.evaluation) both go through here, so a
figure measured by the harness is a figure of the exported labels.

Laterality of a positive (report, label): the sides of the mentions that make the label positive on
their own (each positive mention is asked alone, through the same `derive_labels`, so whatever the
label definition counts, and only that, speaks to the side), combined as left + right → bilateral,
any bilateral → bilateral, one side → that side, no side → none. Exactly one laterality row is
written per label whose CSV value is 1 under the run's `uncertain` policy — `normal` / No Finding
included, always with "none" — and none for any other value, so the JSONL and the CSV agree by
construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from extractors.reports.labels import (
    NO_FINDING,
    NORMAL,
    combine_sides,
    derive_labels,
    is_positive,
    label_columns,
    label_mentions,
)
from extractors.reports.sections import LABEL_SECTIONS
from schemas.ontology import Ontology

SIDES = ("left", "right", "bilateral", "none")


@dataclass(frozen=True)
class FindingRow:
    """A FINDING row (a dict from the table) seen as a mention by the label derivation."""

    code: str
    section: str
    certainty: str
    flags: tuple[str, ...]
    laterality: str
    phrase: str = ""  # the matched text (label definitions may exclude phrases)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> FindingRow:
        side = row.get("laterality") or "none"
        return cls(code=row["code"], section=row.get("section") or "unsectioned", certainty=row["certainty"],
                   flags=tuple(row.get("flags") or ()), laterality=side if side in SIDES else "none",
                   phrase=row.get("phrase") or "")


def group_rows(rows: Iterable[Mapping[str, Any]], report_ids: Iterable[str]) -> dict[str, list[FindingRow]]:
    """report id → its rows as mentions; every id in `report_ids` gets an entry (reports with no mention
    included), in that order, then any id only the rows know."""
    out: dict[str, list[FindingRow]] = {rid: [] for rid in report_ids}
    for r in rows:
        if r.get("code") is None or r.get("report_id") is None:
            continue
        out.setdefault(r["report_id"], []).append(FindingRow.of(r))
    return out


def label_lateralities(
    mentions: list[FindingRow],
    values: Mapping[str, int | None],
    onto: Ontology,
    label_set: str,
    *,
    sections: tuple[str, ...] = LABEL_SECTIONS,
    uncertain: str = "probable",
) -> dict[str, str]:
    """Label name → side, for exactly the labels whose value is 1 in `values`."""
    codes = dict(onto.label_set(label_set))
    candidates = [m for m in label_mentions(mentions, sections) if is_positive(m, uncertain)]
    out: dict[str, str] = {}
    for name, value in values.items():
        if value != 1:
            continue
        if name == NORMAL or codes.get(name) in (None, NO_FINDING):
            out[name] = "none"
            continue
        alone = [m for m in candidates
                 if derive_labels([m], onto, label_set, sections=sections, uncertain=uncertain).get(name) == 1]
        out[name] = combine_sides(m.laterality for m in alone)
    return out


def laterality_rows(uid: str, lateralities: Mapping[str, str]) -> list[dict[str, str]]:
    """The JSONL rows of one report: {"uid", "finding", "laterality"}, in label-column order."""
    return [{"uid": uid, "finding": name, "laterality": side} for name, side in lateralities.items()]


@dataclass(frozen=True)
class LabelExport:
    """What `findings labels` writes: the CSV columns and rows, and the laterality of each positive."""

    columns: list[str]
    values: dict[str, dict[str, int | None]]  # report id → label → value (the CSV rows, in report order)
    sides: dict[str, dict[str, str]]  # report id → label → side, for the labels whose value is 1

    def jsonl_rows(self) -> list[dict[str, str]]:
        return [rec for rid, sides in self.sides.items() for rec in laterality_rows(rid, sides)]


def export_labels(
    rows: Iterable[Mapping[str, Any]],
    report_ids: Iterable[str],
    onto: Ontology,
    label_set: str,
    *,
    sections: tuple[str, ...] = LABEL_SECTIONS,
    uncertain: str = "probable",
) -> LabelExport:
    """FINDING rows → the label export of every report (raises ConfigError/KeyError on a bad set/policy)."""
    columns = label_columns(onto, label_set)
    by_report = group_rows(rows, report_ids)
    values = {rid: derive_labels(ms, onto, label_set, sections=sections, uncertain=uncertain)
              for rid, ms in by_report.items()}
    sides = {rid: label_lateralities(by_report[rid], vals, onto, label_set, sections=sections, uncertain=uncertain)
             for rid, vals in values.items()}
    return LabelExport(columns, values, sides)
