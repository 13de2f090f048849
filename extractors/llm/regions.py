"""MedTrinity-style region descriptions: structured context → a short text, by template or by the LLM.

The context of one REGION: modality and body part of its image, the ontology node (name, kind, the
anatomy it lies in: the node itself, the sites of a finding, or the location codes of a linked
finding), the patient side and lung zone (extractors.grounding.scene), the size (mm² and mm where the
pixel spacing is known, else pixels) and the share of the image, plus certainty/severity of a linked
finding. The template turns it into one sentence deterministically. The LLM (prompt `region-v1`)
may rewrite it; its text is checked against the context (no side or number the context lacks) and
replaced by the template, flagged, when it fails — so a description never states an unsupported fact.
"""

from __future__ import annotations

import json
import re
from typing import Any

from extractors.grounding.geometry import region_box
from extractors.grounding.scene import ImageScene
from schemas.ontology import Ontology

MODALITY_WORDS = {
    "CR": "X-ray", "DX": "X-ray", "DR": "X-ray", "RG": "X-ray", "CT": "CT", "MR": "MRI", "US": "ultrasound",
    "ES": "endoscopy", "XC": "photograph", "SM": "histology slide", "OP": "fundus photograph", "PT": "PET",
}
ZONES = {"upper_lung_zone": "upper zone", "middle_lung_zone": "middle zone", "lower_lung_zone": "lower zone"}
MAX_WORDS = 60
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def region_context(
    onto: Ontology, image: dict[str, Any], region: dict[str, Any], scene: ImageScene | None,
    finding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts a description may use (JSON-able, sorted keys; None where unknown)."""
    code = region.get("code")
    node = onto.get(code) if code is not None and code in onto else None
    anatomy: list[str] = []
    if node is not None and node.kind == "anatomy":
        anatomy = [code] if code else []
    elif finding is not None and finding.get("location_codes"):
        anatomy = list(finding["location_codes"])
    elif node is not None:
        anatomy = list(node.sites[:2])
    box = region_box(region)
    height, width = image.get("height"), image.get("width")
    sy, sx = image.get("pixel_spacing_y"), image.get("pixel_spacing_x")
    area = region.get("area")
    ctx: dict[str, Any] = {
        "modality": MODALITY_WORDS.get((image.get("modality") or "").upper(), image.get("modality")),
        "body_part": (image.get("body_part") or "").lower() or None,
        "view": image.get("view"),
        "label": node.name.lower() if node is not None else region.get("label"),
        "kind": node.kind if node is not None else None,
        "anatomy": [onto.get(a).name.lower() for a in anatomy if a in onto],
        "side": None, "zone": None, "size_mm": None, "area_mm2": None, "area_px": area,
        "image_fraction_pct": round(100.0 * area / (height * width), 1) if area and height and width else None,
        "certainty": finding.get("certainty") if finding else None,
        "severity": finding.get("severity") if finding else None,
    }
    if scene is not None and node is not None and node.kind != "anatomy":
        side = scene.side(region)
        ctx["side"] = side if side in ("left", "right") else None
        ctx["zone"] = ZONES.get(scene.zone(region) or "")
    if sx and sy and box is not None:
        ctx["size_mm"] = [float(_num(box.w * sx)), float(_num(box.h * sy))]
        ctx["area_mm2"] = float(_num(area * sx * sy)) if area else None
    return ctx


def template_description(ctx: dict[str, Any]) -> str:
    """One deterministic sentence from a region context."""
    what = ctx.get("label") or "region"
    if ctx.get("severity"):
        what = f"{ctx['severity']} {what}"
    if ctx.get("certainty") == "uncertain":
        what = f"possible {what}"
    where = []
    if ctx.get("side"):
        where.append(f"on the patient's {ctx['side']}")
    if ctx.get("zone"):
        where.append(f"in the {ctx['zone']}")
    if ctx.get("anatomy") and ctx.get("kind") != "anatomy":
        where.append(f"in the {' / '.join(ctx['anatomy'])}")
    image = " ".join(str(x) for x in (ctx.get("body_part"), ctx.get("modality")) if x) or "image"
    text = f"{what[0].upper()}{what[1:]} {' '.join(where)}".strip() + f" on a {image}"
    size = []
    if ctx.get("size_mm"):
        w, h = ctx["size_mm"]
        size.append(f"about {_num(w)} x {_num(h)} mm")
    if ctx.get("area_mm2"):
        size.append(f"{_num(ctx['area_mm2'])} mm²")
    elif ctx.get("area_px"):
        size.append(f"{ctx['area_px']} pixels")
    if ctx.get("image_fraction_pct") is not None:
        size.append(f"{ctx['image_fraction_pct']}% of the image")
    return text + (f", {', '.join(size)}." if size else ".")


def context_json(ctx: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in ctx.items() if v not in (None, [])}, sort_keys=True, ensure_ascii=False)


def check_description(text: str, ctx: dict[str, Any], template: str) -> str | None:
    """Why an LLM description is unsupported by its context (None: it is fine)."""
    words = text.split()
    if not words or len(words) > MAX_WORDS:
        return "length"
    low = text.lower()
    for side in ("left", "right"):
        if re.search(rf"\b{side}\b", low) and ctx.get("side") != side:
            return "unsupported_side"
    allowed = {float(n) for n in _NUMBER.findall(context_json(ctx)) + _NUMBER.findall(template)}
    if any(float(n) not in allowed for n in _NUMBER.findall(text)):
        return "unsupported_number"
    return None
