from __future__ import annotations

from extractors.grounding.scene import build_scene
from tests.extractors.grounding.crafted import image, rect, region


def test_default_scene_of_a_pa_film():
    scene = build_scene(image("PA"), [])
    assert (scene.left_on, scene.projection, scene.midline_x) == ("right", True, 50.0)


def test_both_lungs_move_the_midline_one_lung_does_not():
    left = region("l", "left_lung", mask=rect(60, 10, 96, 80))
    right = region("r", "right_lung", mask=rect(20, 10, 56, 80))
    both = build_scene(image("PA"), [left, right])
    assert both.midline_x == 58.0 and (both.field.y, both.field.h) == (10.0, 70.0)
    one = build_scene(image("PA"), [left])
    assert one.midline_x == 50.0 and (one.field.y, one.field.h) == (10.0, 70.0)
    auto = build_scene(image("PA"), [region("a", "lung", mask=rect(0, 0, 30, 30), origin="sam_auto")])
    assert auto.midline_x == 50.0  # automatic masks never define the lung field


def test_cross_sectional_scene_reads_no_zones():
    scene = build_scene(image("axial", "CT"), [], "LP")
    assert (scene.left_on, scene.projection) == ("right", False)
    assert scene.zone(region("n", "nodule", (10.0, 10.0, 5.0, 5.0))) is None
