"""How a region's ontology code relates to a finding's: the first piece of grounding evidence."""

from __future__ import annotations

from schemas.ontology import Ontology

CODE_MATCHES = ("exact", "descendant", "ancestor", "none")
# Base score of a link by code match level (relation of the REGION's node to the FINDING's node).
MATCH_SCORES = {"exact": 1.0, "descendant": 0.85, "ancestor": 0.7, "none": 0.0}
LEVEL_PENALTY = 0.05  # per extra hierarchy level between the two nodes
MIN_LEVEL_SCORE = 0.4


def match_codes(onto: Ontology, finding_code: str, region_code: str) -> tuple[str, int]:
    """(level, distance): `descendant` when the region's node lies below the finding's node
    (finding "lung opacity", region "consolidation"), `ancestor` when above it; distance counts
    hierarchy steps (0 for exact; unknown codes give ("none", 0))."""
    if finding_code not in onto or region_code not in onto:
        return "none", 0
    if finding_code == region_code:
        return "exact", 0
    region_up = onto.ancestors(region_code)
    if finding_code in region_up:
        return "descendant", region_up.index(finding_code) + 1
    finding_up = onto.ancestors(finding_code)
    if region_code in finding_up:
        return "ancestor", finding_up.index(region_code) + 1
    return "none", 0


def code_score(level: str, distance: int) -> float:
    """Base link score of a code match: 1 for exact, less the further apart the two nodes are."""
    if level == "none":
        return 0.0
    score = MATCH_SCORES[level] - LEVEL_PENALTY * max(0, distance - 1)
    return max(MIN_LEVEL_SCORE, score)
