"""Automatic (dense SAM) masks inherit the label of the labelled region they lie in.

An unlabelled `sam_auto` mask whose pixels lie mostly (≥ `min_containment`) inside a labelled
region — a dataset lesion box/mask, an anatomy mask — becomes that region's child: it takes its
code and `parent_region_id`, and an `overlap` GROUNDING row records the evidence. When several
labelled regions contain it (organ ⊃ lesion), the smallest — the most specific — is the parent.
Masks that lie in no labelled region stay unlabelled, flagged `unlabelled` and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from extractors.grounding.geometry import region_box, region_mask
from extractors.grounding.rows import add_flag, drop_flags, grounding_row
from schemas.ontology import Ontology

DEFAULT_MIN_CONTAINMENT = 0.6
INHERITED = "inherited_label"
UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class Inheritance:
    regions: list[dict[str, Any]]  # all regions, auto masks updated
    groundings: list[dict[str, Any]]  # one `overlap` row per labelled auto mask


def _boxes_meet(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ba, bb = region_box(a), region_box(b)
    if ba is None or bb is None:
        return True
    return ba.x < bb.x1 and bb.x < ba.x1 and ba.y < bb.y1 and bb.y < ba.y1


def _window(mask: np.ndarray | None) -> tuple[slice, slice, float] | None:
    """The bounding rows/columns of a mask and its area (overlaps are counted inside it only)."""
    if mask is None or not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1), float(mask.sum())


def is_auto(region: dict[str, Any]) -> bool:
    """An automatic mask still to label (or labelled by an earlier run of this step)."""
    if region.get("origin") != "sam_auto":
        return False
    return region.get("code") is None or INHERITED in (region.get("qc_flags") or [])


def inherit_labels(
    onto: Ontology, regions: list[dict[str, Any]], height: int, width: int,
    min_containment: float = DEFAULT_MIN_CONTAINMENT,
) -> Inheritance:
    """Label every automatic mask by containment in the labelled regions (idempotent on re-runs)."""
    parents = sorted(
        (r for r in regions if r.get("origin") != "sam_auto" and r.get("code") in onto),
        key=lambda r: r["region_id"],
    )
    masks: dict[str, np.ndarray | None] = {}

    def mask_of(region: dict[str, Any]) -> np.ndarray | None:
        if region["region_id"] not in masks:
            masks[region["region_id"]] = region_mask(region, height, width)
        return masks[region["region_id"]]

    out: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for region in regions:
        if not is_auto(region):
            out.append(region)
            continue
        region = {**region, "qc_flags": drop_flags(region.get("qc_flags"), (INHERITED, UNLABELLED))}
        region.update(code=None, code_path=[], parent_region_id=None)
        child = mask_of(region)
        window = _window(child)
        best: tuple[float, float, str, dict[str, Any]] | None = None
        for parent in parents:
            pmask = mask_of(parent) if window is not None and _boxes_meet(region, parent) else None
            if pmask is None or child is None or window is None:
                continue
            ys, xs, child_area = window
            contain = float(np.logical_and(child[ys, xs], pmask[ys, xs]).sum()) / child_area
            if contain >= min_containment:
                cand = (float(pmask.sum()), -contain, parent["region_id"], parent)
                best = cand if best is None or cand[:3] < best[:3] else best
        if best is None:
            region["qc_flags"] = add_flag(region["qc_flags"], UNLABELLED)
            out.append(region)
            continue
        parent, contain = best[3], -best[1]
        region.update(code=parent["code"], code_path=onto.path(parent["code"]), parent_region_id=parent["region_id"])
        region["qc_flags"] = add_flag(region["qc_flags"], INHERITED)
        out.append(region)
        rows.append(grounding_row(region, method="overlap", phrase=onto.get(parent["code"]).name,
                                  code=parent["code"], score=contain, code_match="exact", overlap=contain))
    return Inheritance(regions=out, groundings=sorted(rows, key=lambda r: r["region_id"]))
