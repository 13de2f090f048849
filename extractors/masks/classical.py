"""CPU weak masks inside a box prompt (the fallback when SAM/torch is absent): GrabCut, Otsu, ellipse.

`ClassicalBoxMasker.predict(image, box)` returns a full-size boolean mask that never leaves the box
(only pixels whose centres lie in the box can be set, see `rle.box_pixel_slices`):

- `grabcut`: cv2.grabCut initialised with the box as its rectangle, on a crop with a margin of
  context around the box (the background model needs pixels outside it), reduced to at most
  `max_side` pixels a side for speed, its labels upsampled (nearest) back to the crop;
- `otsu`: Otsu's threshold inside the box, polarity chosen so the foreground touches the box
  border least, then the largest component with its holes filled;
- `ellipse`: the ellipse inscribed in the box.

With `qc_choice` (the default) GrabCut's or Otsu's mask, the inscribed ellipse and the box fill are
candidates, scored by the GT-free QC score of `extractors.masks.select` (`CLASSICAL_WEIGHTS`: the
model-free fit on the BTCV tune half: shape features and how each mask fits the image's pixels,
`candidates.image_features`; box fill unless another beats it by `CLASSICAL_MARGIN`) and
the best one is kept, so a GrabCut that fails or
misfires is replaced by whichever of box fill and ellipse the evidence favours, never blindly by the
ellipse; a degenerate result (below `min_fraction` or above `max_fraction` of the box, or a GrabCut
failure) is never a candidate. Another winner than the method's own mask is flagged
`fallback_ellipse` / `fallback_box_fill` plus the reason (the degeneracy, or `qc_lower`). Without
`qc_choice` a degenerate result falls back to the ellipse as before. The score is Otsu's
separability of the mask inside the box (between-class over total intensity variance, 0–1).
Deterministic: OpenCV's RNG is seeded before GrabCut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from extractors.masks.rle import Box, box_pixel_slices
from schemas.errors import BadInput

Method = Literal["grabcut", "otsu", "ellipse"]
METHODS: tuple[str, ...] = ("grabcut", "otsu", "ellipse")


@dataclass(frozen=True)
class MaskResult:
    mask: np.ndarray  # bool, full image size
    score: float
    method: str  # the method that produced the mask ("ellipse" or "box_fill" after a fallback)
    flags: list[str] = field(default_factory=list)
    qc_score: float | None = None  # the winner's QC score (estimated Dice) under `qc_choice`
    candidate_reason: str | None = None  # why it won ("qc=0.81>ellipse:0.77")


class ClassicalBoxMasker:
    """A weak mask inside one box prompt, on CPU."""

    def __init__(
        self,
        method: Method = "grabcut",
        iterations: int = 5,
        min_fraction: float = 0.05,
        max_fraction: float = 0.98,
        context: float = 0.25,
        max_side: int = 192,
        qc_choice: bool = True,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} (allowed: {', '.join(METHODS)})")
        self.method = method
        self.iterations = int(iterations)
        self.min_fraction = float(min_fraction)
        self.max_fraction = float(max_fraction)
        self.context = float(context)
        self.max_side = int(max_side)
        self.qc_choice = bool(qc_choice)

    def predict(self, image_u8: np.ndarray, box_xywh: Box) -> MaskResult:
        image = np.asarray(image_u8)
        if image.ndim not in (2, 3):
            raise BadInput("shape_mismatch", f"an image must be HxW or HxWxC, got {image.ndim} dims")
        height, width = image.shape[:2]
        slices = box_pixel_slices(box_xywh, height, width)
        if slices is None:
            raise BadInput("out_of_bounds", "the box does not overlap the image", unit="annotation")
        gray = to_gray(image)
        crop = np.zeros(gray[slices].shape, bool)
        flags: list[str] = []
        raw_grabcut: np.ndarray | None = None
        if self.method == "otsu":
            crop = otsu_crop(gray[slices])
        elif self.method == "grabcut":
            try:
                raw_grabcut = self.grabcut_crop(image, slices)
            except cv2.error:
                flags.append("grabcut_failed")
            else:
                crop = largest_filled(raw_grabcut)
        method = self.method
        if self.method != "ellipse" and not flags:
            fraction = float(crop.mean()) if crop.size else 0.0
            if fraction < self.min_fraction:
                flags.append("degenerate_empty")
            elif fraction > self.max_fraction:
                flags.append("degenerate_whole_box")
        if self.method != "ellipse" and self.qc_choice:
            return self._qc_choice(image, gray, slices, raw_grabcut, flags)
        if flags:
            flags.insert(0, "fallback_ellipse")
        if self.method == "ellipse" or flags:
            crop, method = ellipse_crop(crop.shape), "ellipse"
        mask = np.zeros((height, width), bool)
        mask[slices] = crop
        return MaskResult(mask=mask, score=_separability(gray[slices], crop), method=method, flags=flags)

    def _qc_choice(self, image: np.ndarray, gray: np.ndarray, slices: tuple[slice, slice],
                   raw_grabcut: np.ndarray | None, flags: list[str]) -> MaskResult:
        """The method's mask (unless degenerate), the ellipse or the box fill, by QC score."""
        from extractors.masks.candidates import ELLIPSE, crop_candidates, features
        from extractors.masks.select import CLASSICAL_MARGIN, CLASSICAL_WEIGHTS, choose

        ys, xs = slices
        box = np.array([xs.start, ys.start, xs.stop, ys.stop], dtype=np.float64)
        cands = crop_candidates(image, slices, grabcut=raw_grabcut)
        features(cands, box, gray)
        selectable = (ELLIPSE,) if flags else (self.method, ELLIPSE)
        choice = choose(cands, box, weights=CLASSICAL_WEIGHTS, selectable=selectable,
                        margin=CLASSICAL_MARGIN)
        if choice.name != self.method:
            flags = [f"fallback_{choice.name}", *(flags or ["qc_lower"])]
        crop = choice.mask[slices]
        return MaskResult(mask=choice.mask, score=_separability(gray[slices], crop), method=choice.name,
                          flags=flags, qc_score=choice.score, candidate_reason=choice.reason)

    def grabcut_crop(self, image: np.ndarray, slices: tuple[slice, slice]) -> np.ndarray:
        """GrabCut's raw foreground (bool) on the box crop `slices` of `image` (see the module docstring)."""
        height, width = image.shape[:2]
        ys, xs = slices
        my = int(np.ceil((ys.stop - ys.start) * self.context)) + 1
        mx = int(np.ceil((xs.stop - xs.start) * self.context)) + 1
        oy, ox = max(0, ys.start - my), max(0, xs.start - mx)
        window = image[oy:min(height, ys.stop + my), ox:min(width, xs.stop + mx)]
        bgr = _to_bgr(window)
        full_h, full_w = bgr.shape[:2]
        scale = min(1.0, self.max_side / max(full_h, full_w))
        if scale < 1.0:  # GrabCut's cost grows with pixels: work on a reduced copy, upsample its labels
            size = (max(2, round(full_w * scale)), max(2, round(full_h * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        sy, sx = bgr.shape[0] / full_h, bgr.shape[1] / full_w
        x0, y0 = int(np.floor((xs.start - ox) * sx)), int(np.floor((ys.start - oy) * sy))
        x1, y1 = int(np.ceil((xs.stop - ox) * sx)), int(np.ceil((ys.stop - oy) * sy))
        rect = (x0, y0, max(1, x1 - x0), max(1, y1 - y0))
        labels = np.zeros(bgr.shape[:2], np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)
        cv2.grabCut(bgr, labels, rect, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_RECT)
        fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
        if scale < 1.0:
            fg = cv2.resize(fg, (full_w, full_h), interpolation=cv2.INTER_NEAREST)
        return fg[ys.start - oy:ys.stop - oy, xs.start - ox:xs.stop - ox].astype(bool)


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit grey of an image: uint8 as is, other dtypes min-max scaled to 0-255; colour in RGB order
    (the project's convention: `extractors.imaging.raster`, `encode.decode_png`; only the first three
    channels) converted by OpenCV's luma weights (0.299 R + 0.587 G + 0.114 B)."""
    arr = image if image.dtype == np.uint8 else cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX, cv2.CV_8U)
    if arr.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(arr[..., :3]), cv2.COLOR_RGB2GRAY)
    return arr


def _to_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel 8-bit image for GrabCut (its colour GMMs do not depend on the channel order)."""
    arr = to_gray(image) if image.ndim == 2 or image.dtype != np.uint8 else image
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(arr[..., :3])


def otsu_crop(gray: np.ndarray, largest: bool = True) -> np.ndarray:
    """Otsu's foreground inside the crop (polarity: touches the border least); its largest
    component with holes filled, or with `largest=False` every component, holes filled."""
    if gray.size < 4 or int(gray.max()) == int(gray.min()):
        return np.zeros(gray.shape, bool)
    _, binary = cv2.threshold(np.ascontiguousarray(gray), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = binary.astype(bool)
    border = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    fg = bright if border.mean() <= 0.5 else ~bright
    if not largest:
        return holes_filled(fg)
    return largest_filled(fg)


def largest_filled(fg: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of `fg` with its holes filled."""
    if not fg.any():
        return fg
    _, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return holes_filled(labels == keep)


def holes_filled(fg: np.ndarray) -> np.ndarray:
    """`fg` with every hole (background not connected to the crop border) filled."""
    padded = np.pad(fg.astype(np.uint8), 1)
    outside = padded.copy()
    cv2.floodFill(outside, None, (0, 0), 1)
    return fg.astype(bool) | (outside[1:-1, 1:-1] == 0)


def ellipse_crop(shape: tuple[int, ...]) -> np.ndarray:
    """Bool mask of the ellipse inscribed in a crop of this (height, width)."""
    h, w = int(shape[0]), int(shape[1])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ry, rx = max(h / 2.0, 0.5), max(w / 2.0, 0.5)
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    return inside


def _separability(gray: np.ndarray, fg: np.ndarray) -> float:
    """Between-class over total variance of the box's intensities split by the mask (0 when one class)."""
    values = gray.astype(np.float64)
    n_fg, n = int(fg.sum()), fg.size
    total = float(values.var())
    if n_fg == 0 or n_fg == n or total <= 0:
        return 0.0
    w1 = n_fg / n
    between = w1 * (1 - w1) * (float(values[fg].mean()) - float(values[~fg].mean())) ** 2
    return round(min(1.0, between / total), 6)
