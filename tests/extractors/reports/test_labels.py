"""Report-level labels through the ontology hierarchy; ChestX-ray14 and CheXpert conventions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.findings_table import finding_rows
from extractors.reports.labels import OUTSIDE_LABEL_SECTIONS, derive_labels, derive_lateralities, label_columns
from schemas.errors import ConfigError


def labels(ex: ReportFindingExtractor, text: str, label_set: str = "chestxray14", **kw: str) -> dict:
    return derive_labels(ex.extract(text), ex.onto, label_set, **kw)


def test_columns_named_as_the_dataset_names_them(extractor: ReportFindingExtractor) -> None:
    cols = label_columns(extractor.onto, "chestxray14")
    assert cols[:3] == ["Atelectasis", "Cardiomegaly", "Effusion"] and cols[-2:] == ["Hernia", "normal"]
    assert "Pleural_Thickening" in cols and len(cols) == 15
    assert label_columns(extractor.onto, "chexpert")[0] == "No Finding"


def test_child_implies_ancestor(extractor: ReportFindingExtractor) -> None:
    v = labels(extractor, "FINDINGS: Small loculated left pleural effusion.")
    assert v["Effusion"] == 1 and v["normal"] == 0
    c = labels(extractor, "FINDINGS: Right lower lobe consolidation.", "chexpert")
    assert c["Consolidation"] == 1 and c["Lung Opacity"] == 1 and c["No Finding"] is None


def test_normal_when_nothing_positive(extractor: ReportFindingExtractor) -> None:
    v = labels(extractor, "FINDINGS: No effusion. Possible pneumonia.\nIMPRESSION: No acute process.")
    assert v["normal"] == 1 and v["Pneumonia"] == 0


def test_uncertain_policies(extractor: ReportFindingExtractor) -> None:
    text = "FINDINGS: Opacity, likely pneumonia. Pneumothorax cannot be excluded."
    assert labels(extractor, text)["Pneumonia"] == 1
    assert labels(extractor, text)["Pneumothorax"] == 0
    assert labels(extractor, text, uncertain="positive")["Pneumothorax"] == 1
    assert labels(extractor, text, uncertain="negative")["Pneumonia"] == 0
    with pytest.raises(ConfigError):
        labels(extractor, text, uncertain="maybe")


def test_chexpert_convention(extractor: ReportFindingExtractor) -> None:
    c = labels(extractor, "FINDINGS: No pneumothorax. Possible pneumonia. Chest tube in place.", "chexpert")
    assert c["Pneumothorax"] == 0 and c["Pneumonia"] == -1 and c["Edema"] is None
    assert c["Support Devices"] == 1
    assert labels(extractor, "FINDINGS: Lungs clear. No effusion.", "chexpert")["No Finding"] == 1


def test_indication_and_history_never_positive(extractor: ReportFindingExtractor) -> None:
    v = labels(extractor, "INDICATION: Pneumonia.\nHISTORY: Pneumothorax.\nFINDINGS: Clear lungs.")
    assert v["Pneumonia"] == 0 and v["Pneumothorax"] == 0 and v["normal"] == 1
    v = labels(extractor, "FINDINGS: History of emphysema. Lungs clear.")
    assert v["Emphysema"] == 0


def test_implies_rules_feed_labels(extractor: ReportFindingExtractor) -> None:
    v = labels(extractor, "FINDINGS: Mild pulmonary vascular congestion.", "chexpert")
    assert v["Edema"] == 1 and v["No Finding"] is None
    # chestxray14 follows its own definition (data/label_sets/chestxray14.tsv), not `implies`
    assert labels(extractor, "FINDINGS: Mild pulmonary vascular congestion.")["Edema"] == 0
    v = labels(extractor, "FINDINGS: Small right hydropneumothorax.")
    assert v["Pneumothorax"] == 1 and v["Effusion"] == 1
    sides = derive_lateralities(extractor.extract("FINDINGS: Small right hydropneumothorax."), extractor.onto,
                                "chestxray14")
    assert sides["Effusion"] == "right" and sides["Pneumothorax"] == "right"
    assert labels(extractor, "FINDINGS: Changes of COPD. No infiltrate.")["Emphysema"] == 0  # NegBio: not one of 14
    # negation does not travel along implies in the binary scheme; CheXpert's convention sets 0 / -1
    assert labels(extractor, "FINDINGS: No vascular congestion. Small effusion.")["Edema"] == 0
    c = labels(extractor, "FINDINGS: No vascular congestion.", "chexpert")
    assert c["Edema"] == 0 and c["No Finding"] == 1
    assert labels(extractor, "FINDINGS: Possible vascular congestion.", "chexpert")["Edema"] == -1
    c = labels(extractor, "FINDINGS: No edema. Mild vascular congestion.", "chexpert")
    assert c["Edema"] == 1  # a positive implying mention wins over the negated target


def test_rows_flagged_outside_label_sections_do_not_count(extractor: ReportFindingExtractor) -> None:
    text = "COMPARISON: Prior pneumothorax.\nFINDINGS: Right pleural effusion."
    ms = extractor.extract(text)
    rows = finding_rows(ms, extractor.onto, report_id="r", source="s", label_sections=("findings",))
    assert [(r["code"], OUTSIDE_LABEL_SECTIONS in r["flags"]) for r in rows] == [
        ("pneumothorax", True), ("pleural_effusion", False)]
    assert all(OUTSIDE_LABEL_SECTIONS not in r["flags"] for r in finding_rows(ms, extractor.onto, report_id="r",
                                                                                source="s"))
    wide = ("findings", "comparison")
    flagged = [replace(m, flags=(*m.flags, OUTSIDE_LABEL_SECTIONS)) if m.section == "comparison" else m for m in ms]
    assert derive_labels(ms, extractor.onto, "chestxray14", sections=wide)["Pneumothorax"] == 1
    assert derive_labels(flagged, extractor.onto, "chestxray14", sections=wide)["Pneumothorax"] == 0
