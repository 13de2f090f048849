"""SAM-family candidates for box prompts against one image embedding (needs torch).

Per box: the decoder's single-mask output (`sam`), its three multimask outputs (`sam_m0..2`), the
single output for the box grown by `EXPAND` of its size on each side (`sam_x`, the box jitter that
lets the model see the object's borders), and the pixel-wise majority of those five (`sam_vote`).
Added for the failure classes of issue 16 (each measured on the BTCV tune half, bench/masks_quality.py):

- `sam_crop`, `sam_crop_m0..2`, `sam_crop_vote`: for a box whose long side is below `CROP_BELOW`
  pixels of the encoder input (small targets: adrenals, vessels), the model run again on a square
  crop around the box (`CROP_CONTEXT` of the box side on each side) resized to the encoder input,
  the masks mapped back: the encoder sees the target at several times the resolution.
- `sam_crop_union`: the union of `sam_crop` and the crop's single outputs for the box grown by
  `EXPAND` and by each of `JITTER` (three more decoder passes per small box; the grown boxes' masks
  are not candidates themselves): `sam_jit` for the crop. With the `EXPAND` box alone (weights
  refitted, BOX_MARGIN 0.03 kept: 0.02 0.8486, 0.04 0.8491): tune 0.845 -> 0.849, report 0.818 ->
  0.821, leave-one-patient-out 0.8436 -> 0.8463, oracle 0.868/0.853 -> 0.873/0.855, no organ below
  box fill. Variants of that union, measured beside `sam_jit` and an intensity-refined `sam_union`
  (tune 0.8462 without any crop union, 0.8500 with it): with the mirrored crop's single output too
  0.8498 (and one more encoder pass per small box: not kept), with the crop's or the mirrored crop's
  second multimask output too 0.847/0.821 and 0.847/0.823, an organ below box fill each.
- `sam_crop_union_int`: `sam_crop_union` refined by the intensity of its own core
  (extractors/masks/refine.py; no model pass; its model scores are the union's). With it (weights
  refitted, BOX_MARGIN 0.03 kept: 0.02 0.8535, 0.04 0.8540): tune 0.849 -> 0.854, report 0.821 ->
  0.825, leave-one-patient-out 0.8463 -> 0.8515, oracle 0.873/0.855 -> 0.876/0.859, no organ below
  box fill. Variants in refine.py. With the `JITTER` boxes in `sam_crop_union` too (weights refitted,
  BOX_MARGIN 0.03 kept: 0.02 0.8549, 0.04 0.8553): tune 0.854 -> 0.856, report 0.825 -> 0.826,
  leave-one-patient-out 0.8515 -> 0.8558 with no organ below box fill there either (one before),
  oracle 0.876/0.859 -> 0.874/0.859. Not kept beside it (tune, leave-one-patient-out in brackets):
  the 10% box alone (0.8550 [0.8524]), the
  5% and 10% boxes (0.8550 [0.8524]), the crop candidates for every box, not only small ones (one more
  encoder pass per large box: 0.8550 [0.8552]), `sam_jit` refined the same way (for every box 0.8558
  [0.8532], one organ below under leave-one-patient-out; for the boxes without a crop 0.8556 [0.8551]),
  `sam_union` refined for those (0.8554 [0.8529]); without `sam_crop_union_int`: 0.8550 [0.8510];
  GrabCut seeded by a candidate (its mask probable foreground, its 5x5-eroded core foreground, the
  rest of the box probable background, a 4-px replicated border background, 3 iterations, largest
  part filled) of `sam_jit` 0.8559 [0.8550], of `sam_crop_union` 0.8534 [0.8532], of `sam_union`
  0.8555 [0.8563]: none beyond noise.
  CPU cost of `sam_jit` and the crop unions (decoder passes only, no new encoder input; one torch
  thread, 39 BTCV regions of 5 images after a warm-up image, embeddings cached): SAM candidates
  0.95 -> 1.34 s per region; the classical candidates, features and choice stay 0.05 s.
- `sam_flip`: the single output for the mirrored box on the horizontally flipped image, flipped
  back (test-time augmentation: one extra encoder input per image, shared by all its boxes and
  encoded in the stage's batched passes, and one decoder pass per box). LiteMedSAM is not
  mirror-symmetric on CT: on the BTCV tune half the flipped pass alone scores mean Dice 0.730
  against 0.673 for `sam` (report half 0.724 vs 0.715). CPU cost (one torch thread, 16 BTCV
  regions after a warm-up image): 2.35 -> 2.71 s per region. Off with the stage's `flip: false`.
  With `sam_flip_m1/m2` and `sam_union` too, through `masks.sam_box` (same 16 regions, one thread,
  another process busy on the second core): 2.47 s per region with `flip: false`, 2.87 with it.
- `sam_flip_m1`, `sam_flip_m2`: the flipped image's second and third multimask outputs (one more
  decoder pass per box on the mirror's embedding). With them (QC weights refitted, BOX_MARGIN 0.02
  -> 0.03, both chosen on the tune half): tune 0.838 -> 0.841, report 0.810 -> 0.811, oracle
  0.865/0.848 -> 0.866/0.852, Spearman(QC, Dice) over the selectable candidates 0.829/0.844 ->
  0.846/0.862, no organ below box fill on either half.
- `sam_union`: the pixel-wise union of `sam`, `sam_x` and `sam_flip` (their mean model scores; no
  model pass): LiteMedSAM's misses differ between the three views, so their union recovers parts
  of thin or low-contrast organs one view drops. With it (weights refitted, BOX_MARGIN 0.03 kept:
  tune 0.8429 vs 0.8423 at 0.02): tune 0.841 -> 0.843, report 0.811 -> 0.814, no organ below box
  fill. Not kept: the union without model scores (0.842/0.813), of `sam` and `sam_flip` only
  (0.838/0.814, one tune organ below), with `sam_vote` too (0.839/0.813, one below), their
  intersection (0.837/0.810, two below) and a majority vote of every SAM candidate (0.839/0.811,
  one below).
- `sam_jit`: the pixel-wise union of `sam`, `sam_x`, the single outputs for the box grown by each of
  `JITTER` (10%, 15%; two more decoder passes per box, not candidates themselves) and `sam_flip`
  (their mean model scores): a box-expansion ensemble, united because LiteMedSAM under-segments
  these organs more often than it leaks. With it (weights refitted, BOX_MARGIN 0.03 kept: 0.02
  0.8440 with an organ below, 0.04 0.8439 with one below): tune 0.843 -> 0.845, report 0.814 ->
  0.818, leave-one-patient-out 0.8404 -> 0.8436, oracle 0.866/0.853 -> 0.868/0.853, no organ below
  box fill. Needs the mirror: absent with `flip: false`.

Candidates measured on the BTCV tune half and not kept (session of issue 16's candidates; each added
to the set above with the QC weights refitted, figures tune / report chosen Dice, leave-one-patient-out
in brackets, vs 0.843/0.814 [0.840]): the logits of the views averaged and thresholded at 0 over
seven boxes (`sam`, `sam_x`, 10%, 15%, a 5%-shrunk box, the mirror and its 5%-grown box: 0.840/0.813
[0.842], two tune organs below box fill; the union of the same seven 0.846/0.818 [0.843]; of `sam`,
`sam_x`, the shrunk box and the mirror 0.842/0.814, one below; of `sam`, `sam_x`, the mirror and its
grown box 0.842/0.818 [0.840], one below); the max of the `sam`/`sam_x`/`sam_flip` logits thresholded
at -1 (0.844/0.815 [0.841]); an adaptive threshold, the highest logit level of the mean (or max)
of those three (from +4 down to -8) at which the mask touches all four sides of the box (the tight-box
prior): alone the best single candidate by far (tune 0.821-0.830 vs 0.673 for `sam`), but chosen
0.838-0.839/0.813-0.815 [0.839-0.840] with two organs below box fill (its tightness is forced, so the
QC score's tightness term over-rates it; as a non-voter 0.842/0.815, voting only 0.839/0.813), grown
only (0 down to -4) 0.842/0.816 with one below; the largest part with holes filled of `sam_union` and
`sam` (0.841/0.812, one below); the convex hull of `sam_union` (0.842/0.814, one below); an ellipse
prior added to the mean logits (+2/4/8 logits at the centre, 0 on the inscribed ellipse: 0.840-0.842/
0.813, one or two below); the mirrored crop for small boxes (one more encoder pass each: its single
output, its multimask outputs, both, or its union with `sam_crop`: 0.839-0.840/0.812-0.815, one or
two below).

Flipped variants measured and not kept (QC weights refitted on the tune half each time, figures tune
/ report chosen Dice, by bench/masks_quality.py's own features and fit): the first multimask output
`m0` (0.837/0.807, one tune organ below box fill), the grown box `x` (0.838/0.814, one below),
`m0..m2` (0.841/0.811, one below), `m1+m2+x` (0.839/0.821, one below), `m2+x` (0.836/0.814, two
below), all four (0.840/0.818, adrenal_gland_right below on the tune half), `m2` alone (0.840/0.812,
tune below `m1+m2`), a vertical flip (0.838/0.813, two below; an earlier dev harness); a per-candidate
floor for the flipped winners (they must beat box fill by 0.01-0.08 more than the others,
else box fill or the next candidate) does not lift the tune organ below box fill of the all-four set
(0.838-0.841, adrenal_gland_right stays below): the loss comes from their votes in the agreement
feature, not from a flipped winner near the floor. Also measured and dropped: GT-free image features
in the QC score (mean gradient on the mask's boundary: weight fits negative, tune 0.836 with one
organ below; inside/outside contrast: 0.838) and the QC weights searched for tune Dice directly
instead of least squares (0.840/0.812 without the flipped multimask outputs, but not what `--fit`
reproduces).

Tried and dropped (bench/masks_quality.py, tune half): a majority of 8 jittered boxes (no gain),
the union of the two half-box masks and SAM on each Otsu component's box (both lost: chosen where
one organ fills the box). Multi-part targets are scored on the bench's derived two-kidney box
(`kidneys_both`, both kidneys under one box, in its own table), where those two were not re-measured.
Also dropped (tune / report chosen Dice with the candidate added and the QC weights refitted, vs
0.834/0.806): SAM iterative refinement (the single mask's low-res logits fed back as the mask
prompt with the same box: 0.839/0.802, a second round 0.835/0.800; the best multimask output
refined: 0.834/0.801, its own mean Dice falls from 0.673 to 0.635-0.645: LiteMedSAM was trained
without mask prompts), box + a positive point at the mask's distance-transform maximum (+ negative
points at box corners outside it): 0.829/0.798 (LiteMedSAM was trained on boxes only), the mean of
the original and flipped logits 0.835/0.808 and of sam/sam_x(/flip) logits 0.837/0.807 (each below
`sam_flip` alone: 0.838/0.810).

Every mask is cleared outside the prompt box (a tight box holds the whole object). All passes go
through `BatchedSamPredictor`, so they keep its fixed pass shapes (batch invariance): a box's
candidates depend on its image and its box alone. The extra encoder inputs (mirror, crops:
`view_inputs`) may come precomputed (`Views`): the SAM stages encode them in the batch's encoder
passes beside the images; whatever is not given is encoded here, all in one `encode` call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from extractors.masks.candidates import Candidate, in_box
from extractors.masks.refine import intensity_refined
from extractors.masks.sam.predictor import BatchedSamPredictor, EncodedImage, MaskBatch

EXPAND = 0.05
# small boxes: long side (pixels of the encoder input) below which the crop candidates run. Tune half:
# below 48/64/96/128/any px: chosen 0.830/0.829/0.831/0.832/0.832 (0.827 without); 96 keeps the
# extra encoder passes to the boxes where the crop wins most (adrenals, vessels, kidneys)
CROP_BELOW = 96.0
CROP_CONTEXT = 0.5  # context on each side of the box in the crop, in box sides (0.25: tune 0.829)
CROP_MIN_SIDE = 24.0  # the crop is at least this many original pixels a side
FLIP_MULTI = (1, 2)  # the flipped image's multimask outputs kept as `sam_flip_m1`, `sam_flip_m2`
UNION = ("sam", "sam_x", "sam_flip")  # united as `sam_union`
# further grown boxes (fractions of the box side on each side), decoded only for `sam_jit`: the union
# of `sam`, `sam_x`, these and `sam_flip` (tune half: 0.10+0.15 0.8454, with a 5%-shrunk box too 0.8451,
# with that and the mirror's 5%-grown box too 0.8456 but 0.8429 under leave-one-patient-out vs 0.8436)
JITTER = (0.10, 0.15)


def grown(box: np.ndarray, frac: float, height: int, width: int) -> np.ndarray:
    """xyxy box grown by `frac` of its width/height (at least one pixel) on each side, clipped."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    dx, dy = max(1.0, frac * bw), max(1.0, frac * bh)
    return np.array([max(0.0, box[0] - dx), max(0.0, box[1] - dy), min(float(width), box[2] + dx),
                     min(float(height), box[3] + dy)], dtype=np.float64)


def crop_window(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) pixels of the square crop around `box` for the crop candidates, clipped."""
    side = max(CROP_MIN_SIDE, max(box[2] - box[0], box[3] - box[1]) * (1 + 2 * CROP_CONTEXT))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = max(0, math.floor(cx - side / 2)), max(0, math.floor(cy - side / 2))
    x1, y1 = min(width, math.ceil(cx + side / 2)), min(height, math.ceil(cy + side / 2))
    return x0, y0, x1, y1


def wants_crop(box: np.ndarray, enc: EncodedImage, image_size: int) -> bool:
    """Whether the box is small enough in the encoder input for the crop candidates."""
    return _small(box, enc.frame.height, enc.frame.width, image_size)


def _small(box: np.ndarray, height: int, width: int, image_size: int) -> bool:
    return max(box[2] - box[0], box[3] - box[1]) * image_size / max(height, width) < CROP_BELOW


Window = tuple[int, int, int, int]


@dataclass
class Views:
    """Embeddings of an image's extra encoder inputs (its mirror, the crops of its small boxes),
    encoded beforehand: the SAM stages encode them in the same batched passes as the images."""

    mirror: EncodedImage | None = None
    crops: dict[Window, EncodedImage] = field(default_factory=dict)


def small_windows(boxes: np.ndarray, height: int, width: int, image_size: int) -> list[Window]:
    """The crop windows of the small boxes among these (N, 4) xyxy boxes, in box order, each once (a
    window two boxes share is one input)."""
    out: dict[Window, None] = {}
    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        if _small(box, height, width, image_size):
            out.setdefault(crop_window(box, height, width))
    return list(out)


def view_inputs(image: np.ndarray, boxes: np.ndarray, image_size: int,
                flip: bool = True) -> tuple[np.ndarray | None, dict[Window, np.ndarray]]:
    """The extra encoder inputs `sam_candidates` needs for these (N, 4) xyxy boxes of `image`: its
    left-right mirror (with `flip`) and the crop of every small box, by crop window."""
    img = np.asarray(image)
    h, w = img.shape[:2]
    mirror = _mirror(img) if flip else None
    return mirror, {win: _crop(img, win) for win in small_windows(boxes, h, w, image_size)}


def _mirror(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img[:, ::-1])


def _crop(img: np.ndarray, win: Window) -> np.ndarray:
    x0, y0, x1, y1 = win
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def sam_candidates(predictor: BatchedSamPredictor, enc: EncodedImage, boxes: np.ndarray,
                   image: np.ndarray | None = None, flip: bool = True,
                   views: Views | None = None) -> list[list[Candidate]]:
    """The SAM candidates of every (N, 4) xyxy box, in box order. With `image` (the array `enc`
    encodes) every box also gets `sam_flip` (unless `flip` is off) and small boxes the crop
    candidates; their encoder inputs (`view_inputs`) come from `views` where it has them, the
    others are encoded here (one `encode` call for all of them)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    h, w = enc.frame.height, enc.frame.width
    single = predictor.predict_boxes(enc, boxes)
    multi = predictor.predict_boxes(enc, boxes, multimask=True)
    wide = predictor.predict_boxes(enc, np.stack([grown(b, EXPAND, h, w) for b in boxes]))
    flip_batch = flip_multi = None
    jitter: list[MaskBatch] = []
    crops: dict[int, list[Candidate]] = {}
    if image is not None:
        extra = _views_of(predictor, image, boxes, flip, views or Views())
        if flip and extra.mirror is not None:
            flip_batch = _flipped(predictor, boxes, extra.mirror, w)
            flip_multi = _flipped(predictor, boxes, extra.mirror, w, multimask=True)
            jitter = [predictor.predict_boxes(enc, np.stack([grown(b, f, h, w) for b in boxes])) for f in JITTER]
        crops = _crop_candidates(predictor, enc, boxes, extra.crops, image)
    out: list[list[Candidate]] = []
    for i, box in enumerate(boxes):
        cands = [_cand("sam", single, i, 0, box)]
        cands += [_cand(f"sam_m{k}", multi, i, k, box) for k in range(multi.masks.shape[1])]
        cands.append(_cand("sam_x", wide, i, 0, box))
        cands.append(_vote("sam_vote", cands))
        if flip_batch is not None and flip_multi is not None:
            cands.append(_cand("sam_flip", flip_batch, i, 0, box))
            cands += [_cand(f"sam_flip_m{k}", flip_multi, i, k, box) for k in FLIP_MULTI]
            by = {c.name: c for c in cands}
            cands.append(_union("sam_union", [by[n] for n in UNION]))
            wider = [_cand(f"sam_x{round(100 * f)}", b, i, 0, box) for f, b in zip(JITTER, jitter, strict=True)]
            cands.append(_union("sam_jit", [by["sam"], by["sam_x"], *wider, by["sam_flip"]]))
        cands += crops.get(i, [])
        out.append(cands)
    return out


def mirrored(boxes: np.ndarray, width: int) -> np.ndarray:
    """xyxy (x1 exclusive) boxes of an image `width` wide → the same boxes in its left-right mirror."""
    out = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    out[:, [0, 2]] = width - out[:, [2, 0]]
    return out


def _views_of(predictor: BatchedSamPredictor, image: np.ndarray, boxes: np.ndarray, flip: bool,
              given: Views) -> Views:
    """`given` completed with the embeddings of the inputs it lacks (only those are built, and encoded
    together here)."""
    img = np.asarray(image)
    windows = small_windows(boxes, img.shape[0], img.shape[1], predictor.backbone.image_size)
    todo: list[tuple[Window | None, np.ndarray]] = []
    if flip and given.mirror is None:
        todo.append((None, _mirror(img)))
    todo += [(win, _crop(img, win)) for win in windows if win not in given.crops]
    encs = predictor.encode([arr for _, arr in todo]) if todo else []
    out = Views(given.mirror, {win: given.crops[win] for win in windows if win in given.crops})
    for (win, _), e in zip(todo, encs, strict=True):
        if win is None:
            out.mirror = e
        else:
            out.crops[win] = e
    return out


def _flipped(predictor: BatchedSamPredictor, boxes: np.ndarray, mirror: EncodedImage, width: int,
             multimask: bool = False) -> MaskBatch:
    """Single (or multimask) masks of the mirrored boxes on the mirrored image's embedding, mirrored back."""
    batch = predictor.predict_boxes(mirror, mirrored(boxes, width), multimask=multimask)
    return MaskBatch(np.ascontiguousarray(batch.masks[..., ::-1]), batch.predicted_iou, batch.stability)


def _crop_candidates(predictor: BatchedSamPredictor, enc: EncodedImage, boxes: np.ndarray,
                     encs: dict[Window, EncodedImage], image: np.ndarray) -> dict[int, list[Candidate]]:
    """Crop candidates of the small boxes, by box index, from their crops' embeddings (`image`: the
    pixels the intensity refinement reads)."""
    h, w = enc.frame.height, enc.frame.width
    out: dict[int, list[Candidate]] = {}
    for i, box in enumerate(boxes):
        if not wants_crop(box, enc, predictor.backbone.image_size):
            continue
        x0, y0, _, _ = win = crop_window(box, h, w)
        cenc = encs[win]
        local = (box - np.array([x0, y0, x0, y0], dtype=np.float64))[None]
        single = _placed(predictor.predict_boxes(cenc, local), (h, w), x0, y0)
        multi = _placed(predictor.predict_boxes(cenc, local, multimask=True), (h, w), x0, y0)
        cands = [_cand("sam_crop", single, 0, 0, box)]
        cands += [_cand(f"sam_crop_m{k}", multi, 0, k, box) for k in range(multi.masks.shape[1])]
        cands.append(_vote("sam_crop_vote", cands))
        ch, cw = cenc.frame.height, cenc.frame.width
        wider = [_cand(f"sam_crop_x{round(100 * f)}", _placed(predictor.predict_boxes(
            cenc, grown(local[0], f, ch, cw)[None]), (h, w), x0, y0), 0, 0, box) for f in (EXPAND, *JITTER)]
        union = _union("sam_crop_union", [cands[0], *wider])
        cands.append(union)
        cands.append(Candidate("sam_crop_union_int", intensity_refined(image, union.mask, box),
                               union.predicted_iou, union.stability))
        out[i] = cands
    return out


def _placed(batch: MaskBatch, shape: tuple[int, int], x0: int, y0: int) -> MaskBatch:
    """Masks of a crop pasted into a full-size frame at (x0, y0)."""
    n, k, ch, cw = batch.masks.shape
    full = np.zeros((n, k, *shape), bool)
    full[:, :, y0:y0 + ch, x0:x0 + cw] = batch.masks
    return MaskBatch(full, batch.predicted_iou, batch.stability)


def _cand(name: str, batch: MaskBatch, i: int, k: int, box: np.ndarray) -> Candidate:
    return Candidate(name, in_box(batch.masks[i, k], box), float(batch.predicted_iou[i, k]),
                     float(batch.stability[i, k]))


def _union(name: str, cands: list[Candidate]) -> Candidate:
    """The pixel-wise union of `cands`, with their mean model scores."""
    return Candidate(name, np.any([c.mask for c in cands], axis=0),
                     float(np.mean([c.predicted_iou or 0.0 for c in cands])),
                     float(np.mean([c.stability or 0.0 for c in cands])))


def _vote(name: str, cands: list[Candidate]) -> Candidate:
    """The pixel-wise majority of `cands`, with their mean model scores."""
    votes = np.sum([c.mask for c in cands], axis=0)
    return Candidate(name, votes * 2 > len(cands), float(np.mean([c.predicted_iou or 0.0 for c in cands])),
                     float(np.mean([c.stability or 0.0 for c in cands])))
