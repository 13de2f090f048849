"""Dataset-given links (MS-CXR phrase ↔ box, ReXGroundingCT finding ↔ mask) as GROUNDING rows.

The dataset says which phrase describes which region, so the link passes through with method
`dataset` and score 1. Its side and location words are still checked against where the region lies,
and a contradiction is flagged for review (a dataset can be wrong; the link is kept).
"""

from __future__ import annotations

import re
from typing import Any

from extractors.grounding.laterality import side_agrees, text_side
from extractors.grounding.rows import grounding_row
from extractors.grounding.scene import ImageScene
from schemas.ontology import Ontology

_WORD = re.compile(r"[a-z]+")
MAX_NGRAM = 4


def phrase_locations(onto: Ontology, phrase: str) -> list[str]:
    """Anatomy codes named in a free phrase (longest surface-form match first, left to right)."""
    words = _WORD.findall(phrase.lower())
    codes: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
            code = onto.lookup(" ".join(words[i : i + n]))
            if code is not None and onto.get(code).kind == "anatomy":
                codes.append(code)
                i += n
                break
        else:
            i += 1
    return sorted(set(codes))


def dataset_links(
    onto: Ontology, scene: ImageScene, regions: list[dict[str, Any]], phrases: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One `dataset` row per (region, dataset phrase); `phrases` maps region_id → its phrases."""
    rows: list[dict[str, Any]] = []
    for region in sorted(regions, key=lambda r: r["region_id"]):
        for phrase in sorted(set(phrases.get(region["region_id"], []))):
            lat = side_agrees(text_side(phrase), scene.side(region))
            loc = scene.location(onto, region, phrase_locations(onto, phrase))
            checks = (("laterality_conflict", lat is False), ("location_conflict", loc is False))
            flags = [flag for flag, bad in checks if bad]
            rows.append(
                grounding_row(
                    region,
                    method="dataset",
                    phrase=phrase,
                    code=region.get("code"),
                    score=1.0,
                    code_match="exact" if region.get("code") else None,
                    laterality_agrees=lat,
                    location_agrees=loc,
                    flags=flags,
                )
            )
    return rows
