"""SAM-family candidates for box prompts against one image embedding (needs torch).

Per box: the decoder's single-mask output (`sam`), its three multimask outputs (`sam_m0..2`), the
single output for the box grown by `EXPAND` of its size on each side (`sam_x`, the box jitter that
lets the model see the object's borders), and the pixel-wise majority of those five (`sam_vote`).
Every mask is cleared outside the prompt box (a tight box holds the whole object). All decoder
passes go through `BatchedSamPredictor`, so they keep its fixed pass shapes (batch invariance).
"""

from __future__ import annotations

import numpy as np

from extractors.masks.candidates import Candidate, in_box
from extractors.masks.sam.predictor import BatchedSamPredictor, EncodedImage

EXPAND = 0.05


def grown(box: np.ndarray, frac: float, height: int, width: int) -> np.ndarray:
    """xyxy box grown by `frac` of its width/height (at least one pixel) on each side, clipped."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    dx, dy = max(1.0, frac * bw), max(1.0, frac * bh)
    return np.array([max(0.0, box[0] - dx), max(0.0, box[1] - dy), min(float(width), box[2] + dx),
                     min(float(height), box[3] + dy)], dtype=np.float64)


def sam_candidates(predictor: BatchedSamPredictor, enc: EncodedImage, boxes: np.ndarray) -> list[list[Candidate]]:
    """The SAM candidates of every (N, 4) xyxy box, in box order."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    h, w = enc.frame.height, enc.frame.width
    single = predictor.predict_boxes(enc, boxes)
    multi = predictor.predict_boxes(enc, boxes, multimask=True)
    wide = predictor.predict_boxes(enc, np.stack([grown(b, EXPAND, h, w) for b in boxes]))
    out: list[list[Candidate]] = []
    for i, box in enumerate(boxes):
        cands = [Candidate("sam", in_box(single.masks[i, 0], box), float(single.predicted_iou[i, 0]),
                           float(single.stability[i, 0]))]
        for k in range(multi.masks.shape[1]):
            cands.append(Candidate(f"sam_m{k}", in_box(multi.masks[i, k], box), float(multi.predicted_iou[i, k]),
                                   float(multi.stability[i, k])))
        cands.append(Candidate("sam_x", in_box(wide.masks[i, 0], box), float(wide.predicted_iou[i, 0]),
                               float(wide.stability[i, 0])))
        votes = np.sum([c.mask for c in cands], axis=0)
        cands.append(Candidate("sam_vote", votes * 2 > len(cands),
                               float(np.mean([c.predicted_iou for c in cands])),  # type: ignore[misc]
                               float(np.mean([c.stability for c in cands]))))  # type: ignore[misc]
        out.append(cands)
    return out
