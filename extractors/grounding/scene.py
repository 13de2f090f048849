"""What grounding needs to know about one image: its size, view convention and lung field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from extractors.grounding.geometry import Box, lung_field, region_box
from extractors.grounding.laterality import PROJECTION_MODALITIES, patient_left_on, region_side
from extractors.grounding.location import location_agrees, zone_of
from schemas.ontology import Ontology

LUNG_FIELD_CODES = ("lung", "left_lung", "right_lung")


@dataclass(frozen=True)
class ImageScene:
    """One image's frame of reference: `left_on` is the image side showing the patient's left
    (None: undeterminable), `projection` says whether lung zones can be read from rows, `field`
    is the lung field (zones, hila) and `midline_x` the column splitting the patient's sides."""

    image_id: str
    height: int
    width: int
    left_on: str | None
    projection: bool
    field: Box
    midline_x: float
    _sides: dict[str, str | None] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def side(self, region: dict[str, Any]) -> str | None:
        """The patient side of a region (memoised per region id: masks are decoded once)."""
        rid = region["region_id"]
        if rid not in self._sides:
            self._sides[rid] = region_side(region, self.left_on, self.midline_x)
        return self._sides[rid]

    def location(self, onto: Ontology, region: dict[str, Any], location_codes: list[str] | None) -> bool | None:
        if not self.projection:
            return None
        return location_agrees(onto, region_box(region), location_codes, self.field)

    def zone(self, region: dict[str, Any]) -> str | None:
        box = region_box(region)
        if not self.projection or box is None:
            return None
        return zone_of(box, self.field)


def build_scene(image: dict[str, Any], regions: list[dict[str, Any]], orientation: str | None = None) -> ImageScene:
    """The scene of an IMAGE row with its regions; `orientation` is the item's meta hint (CT/MR)."""
    height, width = int(image["height"]), int(image["width"])
    modality = (image.get("modality") or "").upper() or None
    left_on = patient_left_on(image.get("view"), modality, orientation)
    projection = modality in PROJECTION_MODALITIES if modality else bool(image.get("view"))
    lungs = [
        (r["code"], box)
        for r in sorted(regions, key=lambda r: r["region_id"])
        if r.get("code") in LUNG_FIELD_CODES and r.get("origin") != "sam_auto"
        and (box := region_box(r)) is not None
    ]
    field = lung_field([box for _, box in lungs], height, width)
    codes = {code for code, _ in lungs}
    if lungs and not ("lung" in codes or {"left_lung", "right_lung"} <= codes):
        default = lung_field([], height, width)  # one lung: its rows, the default columns
        field = Box(default.x, field.y, default.w, field.h)
    return ImageScene(
        image_id=image["image_id"],
        height=height,
        width=width,
        left_on=left_on,
        projection=projection,
        field=field,
        midline_x=field.cx,
    )
