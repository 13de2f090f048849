"""Candidates inside a box and the GT-free choice among them, on images drawn here (no torch)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from extractors.masks.candidates import BOX_FILL, Candidate, classical_candidates, features, image_features, in_box
from extractors.masks.select import SELECTABLE, choose, qc_score


def two_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two bright discs (two kidneys under one box) on a noisy dark background."""
    rng = np.random.default_rng(0)
    img = rng.normal(50, 8, (120, 160))
    gt = np.zeros((120, 160), np.uint8)
    cv2.circle(gt, (45, 60), 18, 1, -1)
    cv2.circle(gt, (115, 60), 18, 1, -1)
    img[gt > 0] = 200
    box = np.array([27.0, 42.0, 134.0, 79.0])  # the tight box of both discs
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(bool), box


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_classical_candidates_stay_in_the_box_and_keep_parts() -> None:
    img, gt, box = two_blobs()
    cands = {c.name: c for c in classical_candidates(img, box)}
    assert {"box_fill", "ellipse", "otsu", "otsu_parts"} <= set(cands)
    for c in cands.values():
        assert not (c.mask & ~in_box(np.ones_like(c.mask), box)).any()
    assert dice(cands["otsu_parts"].mask, gt) > 0.9  # both parts
    assert dice(cands["otsu"].mask, gt) < 0.7  # the largest part only


def test_features_and_choice_prefer_the_agreed_tight_mask() -> None:
    img, gt, box = two_blobs()
    shifted = np.roll(gt, 6, axis=1) & in_box(np.ones_like(gt), box)
    cands = [Candidate("sam", gt.copy(), 0.95, 0.97), Candidate("sam_m0", shifted, 0.60, 0.70),
             Candidate("sam_vote", gt.copy(), 0.9, 0.95), *classical_candidates(img, box)]
    features(cands, box)
    by = {c.name: c for c in cands}
    assert by[BOX_FILL].feats["tight"] == 1.0 and by[BOX_FILL].feats["fill"] == 1.0
    assert by["sam"].feats["agree"] > by["sam_m0"].feats["agree"]
    choice = choose(cands, box)
    assert choice.name in ("sam", "sam_vote") and dice(choice.mask, gt) == 1.0
    assert choice.score == round(qc_score(by[choice.name]), 4)
    assert choice.reason.startswith(f"qc={choice.score:.4f}>")
    assert choose(cands, box) == choice  # deterministic


def test_box_fill_wins_when_nothing_agrees() -> None:
    """Scattered, disagreeing masks score below filling the box."""
    img, _, box = two_blobs()
    rng = np.random.default_rng(1)
    noise = [Candidate(f"sam_m{k}", in_box(rng.random(img.shape) < 0.1, box), 0.2, 0.3) for k in range(3)]
    cands = [*noise, *classical_candidates(img, box)]
    features(cands, box)
    choice = choose([c for c in cands if c.name in SELECTABLE], box)
    assert choice.name in (BOX_FILL, "ellipse")
    assert all(qc_score(c) < choice.score for c in noise)


def test_box_fill_kept_unless_beaten_by_the_margin() -> None:
    """A model candidate whose QC score is within `margin` of box fill's loses to box fill."""
    img, gt, box = two_blobs()
    cands = [Candidate("sam", gt.copy(), 0.95, 0.97), *classical_candidates(img, box)]
    features(cands, box)
    by = {c.name: c for c in cands}
    gap = qc_score(by["sam"]) - qc_score(by[BOX_FILL])
    assert gap > 0
    assert choose(cands, box, margin=gap / 2).name == "sam"
    kept = choose(cands, box, margin=gap * 2)
    assert kept.name == BOX_FILL and kept.reason.startswith("box_margin:sam:")
    assert kept.score == round(qc_score(by[BOX_FILL]), 4) and kept.mask.sum() == by[BOX_FILL].mask.sum()


def test_image_features_favour_the_true_mask_and_ignore_intensity_scale() -> None:
    """purity/homog: the true parts split from their surroundings, box fill and a shifted mask less;
    an affine change of the intensities (another modality's range) leaves them unchanged."""
    img, gt, box = two_blobs()
    shifted = np.roll(gt, 9, axis=1) & in_box(np.ones_like(gt), box)
    masks = [gt, shifted, in_box(np.ones_like(gt), box), np.zeros_like(gt)]
    true, off, fill, empty = image_features(img, box, masks)
    assert true["purity"] > 0.95 and true["purity"] > off["purity"] and true["purity"] > fill["purity"]
    assert true["homog"] < 0.5 < off["homog"] and fill["homog"] == pytest.approx(1.0)
    assert empty == {"purity": 0.5, "homog": 1.0}
    rescaled = image_features((img // 2 + 60).astype(np.uint8), box, masks)
    for a, b in zip(rescaled, (true, off, fill, empty), strict=True):
        assert a["purity"] == pytest.approx(b["purity"], abs=0.02) and a["homog"] == pytest.approx(b["homog"], abs=0.02)


def test_features_add_image_features_only_with_the_image() -> None:
    img, _, box = two_blobs()
    cands = classical_candidates(img, box)
    features(cands, box)
    assert all("purity" not in c.feats for c in cands)
    features(cands, box, img)
    assert all(0.0 <= c.feats["purity"] <= 1.0 and c.feats["homog"] >= 0.0 for c in cands)
