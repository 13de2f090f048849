"""The patient side a region lies on, following the display convention of its view.

Projection radiographs (CR/DX) shown frontally (PA or AP) follow the radiological convention: the
patient faces the viewer, so the patient's left is on the image's right. A lateral view puts both
sides on top of each other: laterality cannot be read from it. Cross-sectional slices (CT/MR) need
an orientation hint (item meta `orientation`), one of:

- `radiological` / `neurological`: the slice is displayed with the patient's left on the image's
  right / left (e.g. RAS-reoriented axial NIfTI slices flipped for radiological display);
- direction letters, DICOM style, of where the image's columns (+x) and rows (+y) point in the
  patient: `LP` (an LPS axial slice as stored: +x toward the patient's left, so left is on the image's
  right), `RA` (+x toward the patient's right). A first letter that is not L/R (a sagittal slice)
  makes laterality undeterminable.

Without a hint, CT/MR and views we do not recognise are undeterminable (None), never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from extractors.grounding.geometry import side_fractions
from schemas.ontology import Ontology

FRONTAL_VIEWS = frozenset({"PA", "AP", "FRONTAL", "APS", "AP SUPINE", "AP ERECT", "PA ERECT", "AP SEMI ERECT",
                           "AP PORTABLE", "POSTEROANTERIOR", "ANTEROPOSTERIOR", "LLD", "RLD"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LEFT LATERAL", "RIGHT LATERAL", "XTABLE LATERAL"})
PROJECTION_MODALITIES = frozenset({"CR", "DX", "RG", "DR"})
SIDE_MAJORITY = 0.75  # share of a region on one side of the midline for it to count as on that side
_WORD = re.compile(r"[a-z]+")
_LEFT_WORDS = frozenset({"left", "lt"})
_RIGHT_WORDS = frozenset({"right", "rt"})
_BOTH_WORDS = frozenset({"bilateral", "bilaterally", "both", "bibasilar", "bibasal", "biapical", "bihilar"})


def patient_left_on(view: str | None, modality: str | None, orientation: str | None) -> str | None:
    """Which side of the image ('left' | 'right') shows the patient's left; None when undeterminable."""
    if orientation:
        hint = orientation.strip().lower()
        if "radiolog" in hint:
            return "right"
        if "neurolog" in hint:
            return "left"
        first = hint[:1]
        return {"l": "right", "r": "left"}.get(first)
    if modality and modality.upper() not in PROJECTION_MODALITIES:
        return None
    name = re.sub(r"[\s_\-]+", " ", (view or "").upper()).strip()
    if not name or name in LATERAL_VIEWS or name.startswith("LAT"):
        return None
    if name in FRONTAL_VIEWS or name.split(" ")[0] in {"PA", "AP"}:
        return "right"
    return None


def region_side(region: dict[str, Any], left_on: str | None, midline_x: float) -> str | None:
    """'left' | 'right' | 'bilateral' (spans the midline) in patient terms, or None if undeterminable."""
    if left_on is None:
        return None
    fractions = side_fractions(region, midline_x)
    if fractions is None:
        return None
    on_image_left, on_image_right = fractions
    if on_image_right >= SIDE_MAJORITY:
        image_side = "right"
    elif on_image_left >= SIDE_MAJORITY:
        image_side = "left"
    else:
        return "bilateral"
    return "left" if image_side == left_on else "right"


def code_side(onto: Ontology, code: str) -> str | None:
    """The side an anatomy code implies ('left_lower_lobe' → left, 'lingula' → left), else None."""
    if code not in onto:
        return None
    for c in reversed(onto.path(code)):
        if c.startswith("left_"):
            return "left"
        if c.startswith("right_"):
            return "right"
    return None


def expected_side(onto: Ontology, laterality: str | None, location_codes: list[str] | None) -> str | None:
    """The side a finding claims: its laterality, else the side its location codes imply."""
    if laterality in ("left", "right", "bilateral"):
        return laterality
    sides = {s for s in (code_side(onto, c) for c in location_codes or []) if s}
    if len(sides) == 2:
        return "bilateral"
    return sides.pop() if sides else None


def text_side(text: str | None) -> str | None:
    """Side words of a free phrase ("left basilar opacity" → left); None when it names no side."""
    words = set(_WORD.findall((text or "").lower()))
    left, right = bool(words & _LEFT_WORDS), bool(words & _RIGHT_WORDS)
    if words & _BOTH_WORDS or (left and right):
        return "bilateral"
    return "left" if left else "right" if right else None


def side_agrees(expected: str | None, observed: str | None) -> bool | None:
    """True/False when both sides are known and comparable; None when either is not (no claim,
    undeterminable view, or a region spanning the midline for a one-sided claim)."""
    if expected is None or observed is None:
        return None
    if expected == "bilateral":
        return True
    if observed == "bilateral":
        return None
    return expected == observed
