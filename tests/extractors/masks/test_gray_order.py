"""Colour images are RGB everywhere (`extractors.imaging.raster`, `encode.decode_png`): the grey that
Otsu, the guard, the refinement and the image QC features see must weight R and B as RGB, or a target
that differs from its background mostly in blue vanishes (a blue disk on green: luma 23 vs 59 in
RGB order, but 60 vs 59 read as BGR). Project-written images: unit tests, not accuracy."""

from __future__ import annotations

import cv2
import numpy as np

from extractors.masks.candidates import classical_candidates
from extractors.masks.classical import to_gray


def blue_disk_on_green() -> tuple[np.ndarray, np.ndarray]:
    rgb = np.zeros((96, 96, 3), np.uint8)
    rgb[..., 1] = 100  # green background
    disk = np.zeros((96, 96), np.uint8)
    cv2.circle(disk, (48, 48), 20, 1, -1)
    rgb[disk.astype(bool)] = (0, 0, 200)  # blue target
    noise = np.random.default_rng(0).normal(0, 6, rgb.shape)  # sensor noise: 60 vs 59 cannot separate
    return np.clip(rgb + noise, 0, 255).astype(np.uint8), disk.astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def test_to_gray_reads_rgb_order() -> None:
    px = np.array([[[200, 0, 0]]], np.uint8)  # pure red
    assert int(to_gray(px)[0, 0]) == round(0.299 * 200)
    assert int(to_gray(px[..., ::-1].copy())[0, 0]) == round(0.114 * 200)


def test_otsu_candidate_sees_a_target_that_differs_in_blue() -> None:
    rgb, disk = blue_disk_on_green()
    box = np.array([24.0, 24.0, 73.0, 73.0])  # a margin round the disk
    otsu = next(c for c in classical_candidates(rgb, box) if c.name == "otsu")
    assert iou(otsu.mask, disk) > 0.9
