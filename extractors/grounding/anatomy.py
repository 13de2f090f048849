"""Sentence ↔ anatomy links (RadGenome style): a report sentence grounds to the anatomy regions
its location phrases name.

A finding's location codes are first made specific by its side ("lung" + left → `left_lung`,
"hilum" + right → `right_hilum`); an anatomy region links when its code is that location, lies
below it (the sentence names "lungs", the region is the left lung) or above it (the sentence names
the left lower lobe, the region is the left lung, which contains it). Every sentence links, normal
and negated ones included ("no effusion on the left" is about the left pleura); a non-present
certainty is recorded in the flags (`certainty_absent`, `certainty_uncertain`).
"""

from __future__ import annotations

from typing import Any

from extractors.grounding.codes import code_score, match_codes
from extractors.grounding.rows import grounding_row
from schemas.ontology import Ontology


def sided_locations(onto: Ontology, codes: list[str] | None, laterality: str | None) -> list[str]:
    """Location codes made specific by a one-sided laterality where the ontology has a sided child."""
    out: set[str] = set()
    for code in codes or []:
        if code not in onto:
            continue
        sided = f"{laterality}_{code.removeprefix('lung_')}" if laterality in ("left", "right") else None
        children = onto.children(code)
        named = [c for c in children if laterality in ("left", "right") and c.startswith(f"{laterality}_")]
        if sided in children:
            out.add(sided)
        elif len(named) == 1:
            out.add(named[0])
        elif len(children) == 1 and laterality in ("left", "right"):  # pass through a lone unsided child
            out.update(sided_locations(onto, children, laterality))
        else:
            out.add(code)
    return sorted(out)


def is_anatomy_region(onto: Ontology, region: dict[str, Any]) -> bool:
    code = region.get("code")
    return code is not None and code in onto and onto.get(code).kind == "anatomy" and region.get("origin") != "sam_auto"


def anatomy_links(
    onto: Ontology, image_id: str, findings: list[dict[str, Any]], regions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One `anatomy` row per (sentence, anatomy region) named by the sentence's location phrases."""
    targets = sorted((r for r in regions if is_anatomy_region(onto, r)), key=lambda r: r["region_id"])
    if not targets:
        return []
    best: dict[tuple[str, str], dict[str, Any]] = {}
    ordered = sorted(findings, key=lambda f: (f.get("report_id") or "", f.get("span_start") or 0, f["finding_id"]))
    for finding in ordered:
        sentence = finding.get("sentence")
        if not sentence or finding.get("image_id") not in (None, image_id):
            continue
        for loc in sided_locations(onto, finding.get("location_codes"), finding.get("laterality")):
            for region in targets:
                level, distance = match_codes(onto, loc, region["code"])
                if level == "none":
                    continue
                score = code_score(level, distance)
                key = (sentence, region["region_id"])
                if key in best and (best[key]["score"] or 0) >= score:
                    continue
                certainty = finding.get("certainty") or "present"
                best[key] = grounding_row(
                    region,
                    method="anatomy",
                    phrase=sentence,
                    code=region["code"],
                    score=score,
                    finding_id=finding["finding_id"],
                    code_match=level,
                    flags=[] if certainty == "present" else [f"certainty_{certainty}"],
                )
    return [best[k] for k in sorted(best)]
