"""Finding ↔ region links by ontology code, checked against laterality and location.

A positive finding (certainty `present`; negated and uncertain findings never ground) links to every
region whose code is the same node, a descendant or an ancestor of the finding's. Each link carries
its evidence (code match level, laterality and location agreement) and a score:

    score = code score (1 exact, 0.85 descendant, 0.7 ancestor, −0.05 per extra level)
          × laterality factor (1 agrees / not claimed, 0.9 undeterminable, 0.3 contradicts)
          × location factor (1 agrees / not assessable, 0.6 contradicts)
          × the finding's own confidence (when it has one)

Review flags: `laterality_conflict` (report says left, the region lies on the right),
`location_conflict`, `laterality_undetermined` (a sided claim on a view that cannot show sides),
`bilateral_one_side` (a bilateral finding whose links all lie on one side), `low_confidence`
(score below the threshold).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from extractors.grounding.codes import code_score, match_codes
from extractors.grounding.laterality import expected_side, side_agrees
from extractors.grounding.rows import grounding_row
from extractors.grounding.scene import ImageScene
from schemas.ontology import Ontology

LINKABLE_KINDS = ("finding", "device")
NON_GROUNDABLE = frozenset({"no_finding"})
LATERALITY_FACTORS = {True: 1.0, False: 0.3, "undetermined": 0.9, None: 1.0}
LOCATION_FACTORS = {True: 1.0, False: 0.6, None: 1.0}
DEFAULT_MIN_SCORE = 0.5


def is_groundable_finding(onto: Ontology, finding: dict[str, Any], image_id: str) -> bool:
    """A positive finding with a linkable code, about this image (or about its whole study)."""
    code = finding.get("code")
    if finding.get("certainty") != "present" or code is None or code not in onto or code in NON_GROUNDABLE:
        return False
    if finding.get("image_id") not in (None, image_id):
        return False
    return onto.get(code).kind in LINKABLE_KINDS


def is_linkable_region(onto: Ontology, region: dict[str, Any]) -> bool:
    """A labelled lesion/device region (anatomy regions link through sentences, auto masks by overlap)."""
    code = region.get("code")
    if code is None or code not in onto or region.get("origin") == "sam_auto":
        return False
    return onto.get(code).kind in LINKABLE_KINDS


def link_finding(
    onto: Ontology, scene: ImageScene, finding: dict[str, Any], region: dict[str, Any], min_score: float
) -> dict[str, Any] | None:
    """The GROUNDING row linking `finding` to `region`, or None when their codes do not relate."""
    level, distance = match_codes(onto, finding["code"], region["code"])
    if level == "none":
        return None
    expected = expected_side(onto, finding.get("laterality"), finding.get("location_codes"))
    lat = side_agrees(expected, scene.side(region))
    loc = scene.location(onto, region, finding.get("location_codes"))
    flags: list[str] = []
    lat_key: bool | str | None = lat
    if lat is False:
        flags.append("laterality_conflict")
    elif lat is None and expected in ("left", "right") and scene.left_on is None:
        lat_key = "undetermined"
        flags.append("laterality_undetermined")
    if loc is False:
        flags.append("location_conflict")
    score = code_score(level, distance) * LATERALITY_FACTORS[lat_key] * LOCATION_FACTORS[loc]
    if finding.get("confidence") is not None:
        score *= float(finding["confidence"])
    if score < min_score:
        flags.append("low_confidence")
    return grounding_row(
        region,
        method="code_match",
        phrase=finding.get("phrase") or finding.get("label"),
        code=finding["code"],
        score=score,
        finding_id=finding["finding_id"],
        code_match=level,
        laterality_agrees=lat,
        location_agrees=loc,
        flags=flags,
    )


def link_findings(
    onto: Ontology,
    scene: ImageScene,
    findings: list[dict[str, Any]],
    regions: list[dict[str, Any]],
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[dict[str, Any]]:
    """Every finding × region link (many-to-many), sorted by (finding, region)."""
    targets = sorted((r for r in regions if is_linkable_region(onto, r)), key=lambda r: r["region_id"])
    rows: list[dict[str, Any]] = []
    for finding in sorted(findings, key=lambda f: f["finding_id"]):
        if not is_groundable_finding(onto, finding, scene.image_id):
            continue
        links = [row for r in targets if (row := link_finding(onto, scene, finding, r, min_score))]
        rows.extend(flag_one_sided(onto, scene, finding, links, targets))
    return rows


def flag_one_sided(
    onto: Ontology, scene: ImageScene, finding: dict[str, Any], links: list[dict[str, Any]],
    regions: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Flag the links of a bilateral finding that all lie on one side of the patient."""
    if expected_side(onto, finding.get("laterality"), finding.get("location_codes")) != "bilateral" or not links:
        return links
    by_id = {r["region_id"]: r for r in regions}
    sides: dict[str | None, int] = defaultdict(int)
    for row in links:
        sides[scene.side(by_id[row["region_id"]])] += 1
    if None in sides or "bilateral" in sides or {"left", "right"} <= set(sides):
        return links
    for row in links:
        row["flags"] = sorted({*row["flags"], "bilateral_one_side"})
    return links
