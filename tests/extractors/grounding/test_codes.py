from __future__ import annotations

import pytest

from extractors.grounding.codes import code_score, match_codes
from schemas.ontology import load_ontology


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


@pytest.mark.parametrize(
    ("finding", "region", "level", "distance"),
    [
        ("pleural_effusion", "pleural_effusion", "exact", 0),
        ("lung_opacity", "consolidation", "descendant", 1),  # region more specific than the report
        ("consolidation", "lung_opacity", "ancestor", 1),  # region (RSNA "Lung Opacity") more general
        ("lesion", "nodule", "descendant", 2),
        ("atelectasis", "consolidation", "none", 0),  # siblings do not match
        ("pneumothorax", "cardiomegaly", "none", 0),
        ("not_a_code", "nodule", "none", 0),
    ],
)
def test_match_codes_levels(onto, finding, region, level, distance):
    assert match_codes(onto, finding, region) == (level, distance)


def test_code_score_orders_levels_and_penalises_distance():
    assert code_score("exact", 0) == 1.0
    assert code_score("exact", 0) > code_score("descendant", 1) > code_score("ancestor", 1) > 0
    assert code_score("descendant", 2) < code_score("descendant", 1)
    assert code_score("none", 0) == 0.0
