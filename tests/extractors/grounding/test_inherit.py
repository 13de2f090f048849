from __future__ import annotations

import pytest

from extractors.grounding.inherit import inherit_labels
from schemas.ontology import load_ontology
from tests.extractors.grounding.crafted import H, W, disk, rect, region


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def crafted_regions():
    lung = region("lung_l", "left_lung", mask=rect(55, 10, 92, 85), origin="dataset_gt")
    lesion = region("mass_1", "mass", (62.0, 20.0, 20.0, 20.0))  # box-only GT lesion
    in_lesion = region("auto_a", None, mask=disk(72, 30, 6), origin="sam_auto")
    in_lung_only = region("auto_b", None, mask=disk(70, 70, 8), origin="sam_auto")
    outside = region("auto_c", None, mask=disk(20, 50, 8), origin="sam_auto")
    half_in = region("auto_d", None, mask=rect(40, 60, 70, 70), origin="sam_auto")  # 15/30 cols inside the lung
    return [lung, lesion, in_lesion, in_lung_only, outside, half_in]


def test_auto_masks_inherit_the_most_specific_containing_label(onto):
    result = inherit_labels(onto, crafted_regions(), H, W, min_containment=0.6)
    by_id = {r["region_id"]: r for r in result.regions}
    assert (by_id["auto_a"]["code"], by_id["auto_a"]["parent_region_id"]) == ("mass", "mass_1")  # lesion ⊂ lung
    assert by_id["auto_a"]["code_path"] == onto.path("mass")
    assert (by_id["auto_b"]["code"], by_id["auto_b"]["parent_region_id"]) == ("left_lung", "lung_l")
    assert "inherited_label" in by_id["auto_a"]["qc_flags"]
    for rid in ("auto_c", "auto_d"):
        assert by_id[rid]["code"] is None and by_id[rid]["parent_region_id"] is None
        assert by_id[rid]["qc_flags"] == ["unlabelled"]
    assert by_id["mass_1"] == crafted_regions()[1]  # labelled regions untouched
    rows = {g["region_id"]: g for g in result.groundings}
    assert set(rows) == {"auto_a", "auto_b"}
    assert rows["auto_a"]["method"] == "overlap" and rows["auto_a"]["overlap"] == 1.0
    assert rows["auto_a"]["phrase"] == "mass"


def test_threshold_decides_and_rerun_is_idempotent(onto):
    loose = inherit_labels(onto, crafted_regions(), H, W, min_containment=0.4)
    assert {r["region_id"]: r["code"] for r in loose.regions}["auto_d"] == "left_lung"
    again = inherit_labels(onto, loose.regions, H, W, min_containment=0.4)
    assert again.regions == loose.regions and again.groundings == loose.groundings
    stricter = inherit_labels(onto, loose.regions, H, W, min_containment=0.6)
    assert {r["region_id"]: r["code"] for r in stricter.regions}["auto_d"] is None
