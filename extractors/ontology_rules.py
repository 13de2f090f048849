"""Ontology rules on FINDING/REGION dicts: implied ancestors, exclusions, allowed modality, containment.

Pure functions, no Ray. Each violation is a RuleFlag whose `text` goes into a row's `flags`/`qc_flags`:

    ontology.modality:<code>:<modality>              the node is not seen on that modality
    ontology.excludes:<code>:<other>                 'no finding' and a finding, same annotator
    ontology.outside_parent:<code>:<parents>:<frac>  a child region lies (partly) outside its parent
                                                     regions on the same image; frac = inside fraction
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from schemas.ontology import Ontology

PRESENT = (None, "present", "uncertain")


@dataclass(frozen=True)
class RuleFlag:
    rule: str  # modality | excludes | outside_parent
    code: str
    detail: str
    overlap: float | None = None  # containment only: fraction of the child inside its parents

    @property
    def text(self) -> str:
        parts = ["ontology." + self.rule, self.code, self.detail]
        if self.overlap is not None:
            parts.append(f"{self.overlap:.3f}")
        return ":".join(parts)


@dataclass(frozen=True)
class Containment:
    """A region's place inside its parent regions: the inside fraction and the best parent region."""

    overlap: float
    parent_region_id: str | None
    parent_codes: tuple[str, ...]
    flag: RuleFlag | None


def implied_path(onto: Ontology, code: str) -> list[str]:
    """A positive child implies its ancestors: the stored code_path, root first."""
    return onto.path(code)


def check_modality(onto: Ontology, code: str, modality: str | None) -> RuleFlag | None:
    allowed = onto.get(code).modalities
    if not modality or not allowed or modality in allowed:
        return None
    return RuleFlag("modality", code, modality)


def check_exclusions(onto: Ontology, records: list[dict[str, Any]]) -> dict[int, RuleFlag]:
    """Index → flag for every present record caught in an exclusion ('no finding' vs a finding).

    Records are compared per annotator (radiologists may disagree); devices do not conflict with
    'no finding' (CheXpert's convention)."""
    groups: dict[Any, list[int]] = {}
    for i, rec in enumerate(records):
        code = rec.get("code")
        if code in onto and rec.get("certainty") in PRESENT:
            groups.setdefault(rec.get("annotator"), []).append(i)
    out: dict[int, RuleFlag] = {}
    for members in groups.values():
        codes = {i: records[i]["code"] for i in members}
        for ex in onto.exclusive:
            holders = [i for i, c in codes.items() if c == ex]
            others = [i for i, c in codes.items() if c != ex and onto.get(c).kind == "finding" and c not in
                      onto.ancestors(ex)]
            if not holders or not others:
                continue
            other_codes = ",".join(sorted({codes[i] for i in others}))
            for i in holders:
                out[i] = RuleFlag("excludes", ex, other_codes)
            for i in others:
                out[i] = RuleFlag("excludes", codes[i], ex)
    return out


def region_mask(region: dict[str, Any], shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """The region's binary mask: decoded COCO RLE, else its box rasterised on `shape` (h, w)."""
    h, w = region.get("mask_height"), region.get("mask_width")
    if region.get("rle_counts") and h and w:
        rle = {"size": [int(h), int(w)], "counts": region["rle_counts"].encode()}
        return mask_utils.decode(rle).astype(bool)
    if region.get("box_w") is None or shape is None:
        return None
    mask = np.zeros(shape, dtype=bool)
    x0, y0 = max(int(np.floor(region["box_x"])), 0), max(int(np.floor(region["box_y"])), 0)
    x1 = min(int(np.ceil(region["box_x"] + region["box_w"])), shape[1])
    y1 = min(int(np.ceil(region["box_y"] + region["box_h"])), shape[0])
    mask[y0:y1, x0:x1] = True
    return mask


def parent_candidates(onto: Ontology, code: str, other: str) -> bool:
    """May a region coded `other` contain a region coded `code`? Ancestors do; so do regions of the
    node's typical sites, their ancestors and their parts (a nodule lies in the left or right lung)."""
    if other == code or other not in onto:
        return False
    if other in onto.ancestors(code):
        return True
    if onto.get(other).kind != "anatomy" or onto.is_a(other, code):
        return False
    return any(onto.is_a(site, other) or onto.is_a(other, site) for site in onto.get(code).sites)


def check_containment(
    onto: Ontology,
    regions: list[dict[str, Any]],
    tolerance: float = 0.1,
    shape: tuple[int, int] | None = None,
) -> dict[int, Containment]:
    """Index → Containment for every region that has parent regions on the image.

    The inside fraction is |child ∩ union(parents)| / |child|; below 1 - tolerance it is flagged.
    Regions without a decodable mask (or box and image shape), or of another shape, are skipped."""
    masks: dict[int, np.ndarray | None] = {}

    def get(i: int) -> np.ndarray | None:
        if i not in masks:
            masks[i] = region_mask(regions[i], shape)
        return masks[i]

    out: dict[int, Containment] = {}
    for i, child in enumerate(regions):
        code = child.get("code")
        if code not in onto:
            continue
        parents = [j for j, r in enumerate(regions) if j != i and parent_candidates(onto, code, r.get("code"))]
        if not parents:
            continue
        cm = get(i)
        if cm is None or not cm.any():
            continue
        pms = [(j, get(j)) for j in parents]
        pms = [(j, m) for j, m in pms if m is not None and m.shape == cm.shape]
        if not pms:
            continue
        union = np.logical_or.reduce([m for _, m in pms])
        overlap = float(np.logical_and(cm, union).sum() / cm.sum())
        best = max(pms, key=lambda jm: (int(np.logical_and(cm, jm[1]).sum()), -jm[0]))[0]
        codes = tuple(sorted({regions[j]["code"] for j, _ in pms}))
        flag = None
        if overlap < 1.0 - tolerance:
            flag = RuleFlag("outside_parent", code, "+".join(codes), overlap)
        out[i] = Containment(overlap, regions[best].get("region_id"), codes, flag)
    return out
