"""Laterality classes found by the issue-15 side-construction audit, checked in the --laterality-out JSONL
(label_export, as `findings labels` writes it). Project-written unit cases: they test the rules, they are not
evidence of laterality accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.test_laterality_export import jsonl_sides

WITHOUT = [
    # (text, label, side): "without" ends a segment like "with": the negated side after it is not the finding's
    ("Left effusion without right effusion.", "Effusion", "left"),
    ("Right pneumothorax without left pneumothorax.", "Pneumothorax", "right"),
    ("Left pneumothorax without mediastinal shift.", "Pneumothorax", "left"),
    ("Right lower lobe atelectasis without left effusion.", "Atelectasis", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), WITHOUT)
def test_without_ends_the_segment(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


UNPAIRED = [
    # (text, label, side): a side is not carried onto a finding whose ontology sites have no side (the heart) ...
    ("Left effusion and cardiomegaly.", "Cardiomegaly", "none"),
    ("Left effusion with cardiomegaly.", "Cardiomegaly", "none"),
    ("Right lower lobe pneumonia, and mild cardiomegaly.", "Cardiomegaly", "none"),
    ("Left effusion and cardiomegaly.", "Effusion", "left"),
    # ... nor from a finding of unpaired sites (bony thorax, spine) onto a lung or pleural finding ...
    ("Right humeral fracture with small effusion.", "Effusion", "none"),
    ("Degenerative changes of the right shoulder with atelectasis.", "Atelectasis", "none"),
    # ... while a paired finding still passes its side on (lung/pleura to lung/pleura)
    ("Left pleural effusion with atelectasis.", "Atelectasis", "left"),
    ("Left basilar opacity, likely atelectasis.", "Atelectasis", "left"),
    ("Left pleural effusion. Associated atelectasis.", "Atelectasis", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), UNPAIRED)
def test_side_passes_between_paired_sites_only(extractor: ReportFindingExtractor, text: str, label: str,
                                               side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize(("code", "paired"), [("cardiomegaly", False), ("pneumomediastinum", False),
                                               ("degenerative_change", False), ("pleural_effusion", True),
                                               ("atelectasis", True), ("rib_fracture", True)])
def test_paired_reads_the_ontology_sites(extractor: ReportFindingExtractor, code: str, paired: bool) -> None:
    assert extractor.paired(code) is paired
