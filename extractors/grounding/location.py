"""Lung zones from where a region lies in the lung field of a projection radiograph.

The lung field (from lung anatomy regions, else a default frontal-film field) is cut into vertical
bands: the apex and upper zone at the top, the base and lower zone at the bottom; the hila are
central. Lobes project onto overlapping bands on a frontal film (lower lobes reach the mid zone).
Cross-sectional slices are not assessed here: their vertical axis is anterior–posterior.
"""

from __future__ import annotations

from extractors.grounding.geometry import Box
from schemas.ontology import Ontology

# Vertical band (fraction of the lung field's height from its top) of each assessable location code.
ZONE_BANDS: dict[str, tuple[float, float]] = {
    "lung_apex": (0.0, 0.2),
    "upper_lung_zone": (0.0, 1 / 3),
    "middle_lung_zone": (1 / 3, 2 / 3),
    "lower_lung_zone": (2 / 3, 1.0),
    "lung_base": (0.75, 1.0),
    "left_lung_base": (0.75, 1.0),
    "right_lung_base": (0.75, 1.0),
    "costophrenic_angle": (0.8, 1.0),
    "hilum": (0.25, 0.65),
    "left_upper_lobe": (0.0, 2 / 3),
    "right_upper_lobe": (0.0, 2 / 3),
    "lingula": (1 / 3, 1.0),
    "right_middle_lobe": (1 / 3, 1.0),
    "left_lower_lobe": (1 / 3, 1.0),
    "right_lower_lobe": (1 / 3, 1.0),
}
CENTRAL_CODES = frozenset({"hilum"})
CENTRAL_HALF_WIDTH = 0.3  # a central region's centre lies within this share of the field width of the midline
CENTRE_TOLERANCE = 0.05  # a band is widened by this share of the field when testing a centre
MIN_BAND_SHARE = 0.4  # or: this share of the region's height lies inside the band
ZONES = ("upper_lung_zone", "middle_lung_zone", "lower_lung_zone")


def assessable_code(onto: Ontology, code: str) -> str | None:
    """The ZONE_BANDS entry governing a location code (itself or its nearest listed ancestor)."""
    if code not in onto:
        return None
    for c in reversed(onto.path(code)):
        if c in ZONE_BANDS:
            return c
    return None


def in_band(box: Box, field: Box, band: tuple[float, float]) -> bool:
    top, bottom = field.y + band[0] * field.h, field.y + band[1] * field.h
    tol = CENTRE_TOLERANCE * field.h
    if top - tol <= box.cy <= bottom + tol:
        return True
    inside = max(0.0, min(box.y1, bottom) - max(box.y, top))
    return box.h > 0 and inside / box.h >= MIN_BAND_SHARE


def is_central(box: Box, field: Box) -> bool:
    return abs(box.cx - field.cx) <= CENTRAL_HALF_WIDTH * field.w


def location_agrees(onto: Ontology, box: Box | None, location_codes: list[str] | None, field: Box) -> bool | None:
    """True when the region lies where any assessable location code says, False when it lies where
    none does, None when no location code can be assessed (or the region has no box)."""
    zones = sorted({z for z in (assessable_code(onto, c) for c in location_codes or []) if z})
    if box is None or not zones:
        return None
    for zone in zones:
        if in_band(box, field, ZONE_BANDS[zone]) and (zone not in CENTRAL_CODES or is_central(box, field)):
            return True
    return False


def zone_of(box: Box, field: Box) -> str:
    """The lung zone code (upper/middle/lower) holding the region's centre."""
    t = (box.cy - field.y) / field.h if field.h > 0 else 0.5
    return ZONES[0] if t < 1 / 3 else ZONES[1] if t < 2 / 3 else ZONES[2]
