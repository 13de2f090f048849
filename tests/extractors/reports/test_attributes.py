"""Laterality, location, size, severity and change, and exact span offsets."""

from __future__ import annotations

import pytest

from extractors.reports.attributes import sizes_mm
from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only


@pytest.mark.parametrize(
    ("text", "code", "side"),
    [
        ("Small left pleural effusion.", "pleural_effusion", "left"),
        ("Right apical pneumothorax.", "pneumothorax", "right"),
        ("Bilateral pleural effusions.", "pleural_effusion", "bilateral"),
        ("Small pleural effusions.", "pleural_effusion", "bilateral"),
        ("Bibasilar atelectasis.", "atelectasis", "bilateral"),
        ("Opacity in the left lower lobe.", "lung_opacity", "left"),
        ("Effusions, left greater than right.", "pleural_effusion", "bilateral"),
        ("Cardiomegaly.", "cardiomegaly", "none"),
        ("Left lower lobe atelectasis and right effusion.", "atelectasis", "left"),
        ("Left lower lobe atelectasis and right effusion.", "pleural_effusion", "right"),
        ("Opacity in both lungs.", "lung_opacity", "bilateral"),
        ("Right-sided pleural effusion.", "pleural_effusion", "right"),
        ("L pleural effusion.", "pleural_effusion", "left"),
        ("R pneumothorax.", "pneumothorax", "right"),
        ("Small effusion at the L1 level.", "pleural_effusion", "none"),
    ],
)
def test_laterality(extractor: ReportFindingExtractor, text: str, code: str, side: str) -> None:
    assert only(extractor.extract(text), code).laterality == side


def test_each_mention_keeps_its_own_side(extractor: ReportFindingExtractor) -> None:
    ms = extractor.extract("Small left pleural effusion and right basilar atelectasis.")
    assert only(ms, "pleural_effusion").laterality == "left"
    assert only(ms, "atelectasis").laterality == "right"


def test_location_codes(extractor: ReportFindingExtractor) -> None:
    m = only(extractor.extract("Consolidation in the right lower lobe."), "consolidation")
    assert m.location_codes == ("right_lower_lobe",)
    m = only(extractor.extract("Left basilar atelectasis."), "atelectasis")
    assert "lung_base" in m.location_codes or any("base" in c for c in m.location_codes)


def test_size_severity_change(extractor: ReportFindingExtractor) -> None:
    m = only(extractor.extract("New 1.2 x 0.8 cm nodule in the right upper lobe."), "nodule")
    assert m.size_mm == (12.0, 8.0) and m.change == "new"
    m = only(extractor.extract("Moderate right pleural effusion has increased."), "pleural_effusion")
    assert m.severity == "moderate" and m.change == "increased"
    m = only(extractor.extract("No change in the small left effusion."), "pleural_effusion")
    assert m.severity == "small" and m.change == "stable"
    assert only(extractor.extract("Trace effusion is improving."), "pleural_effusion").change == "decreased"
    assert sizes_mm("a 5-mm nodule") == (5.0,) and sizes_mm("no size") == ()


def test_spans_index_the_original_text(extractor: ReportFindingExtractor) -> None:
    text = "INDICATION:  SOB.\r\nFINDINGS:\n  Heart is mildly enlarged.  Left  PTX.\n\nIMPRESSION: CHF."
    ms = extractor.extract(text)
    assert ms
    for m in ms:
        assert text[m.start : m.end] == m.text
    assert only(ms, "cardiomegaly").text == "Heart is mildly enlarged"
    assert only(ms, "pneumothorax").laterality == "left"


def test_defined_abbreviation(extractor: ReportFindingExtractor) -> None:
    ms = extractor.extract("Pulmonary vascular congestion (PVC) is present. PVC has increased.")
    assert [m.code for m in ms].count("pulmonary_vascular_congestion") == 3
    assert ms[-1].text == "PVC" and ms[-1].change == "increased"


def test_ontology_surface_forms_for_locations_and_devices(extractor: ReportFindingExtractor) -> None:
    ms = extractor.extract("GGO at the right base. Ground glass opacity in the left base. IABP in place. "
                           "Retrocardiac opacity. Mild elevation of the left hemidiaphragm.")
    assert [(m.code, m.laterality, m.location_codes) for m in ms] == [
        ("ground_glass_opacity", "right", ("right_lung_base",)),
        ("ground_glass_opacity", "left", ("left_lung_base",)),
        ("intra_aortic_balloon_pump", "none", ()),
        ("lung_opacity", "left", ("retrocardiac_region",)),  # a weak side (weak_sides.tsv)
        ("elevated_hemidiaphragm", "left", ()),
    ]
    m = only(extractor.extract("Opacity abutting the diaphragm on the left."), "lung_opacity")
    assert m.location_codes == ("left_hemidiaphragm",)  # diaphragm → its lone child hemidiaphragm → left
