"""Template phrases for every labelled region (BiomedParse / RefCOCO style), from the ontology.

Several variants per region — "{term}", "{side} {term}", "{term} in the {side} {zone}",
"{term} in the {zone} of the {side} lung" — where `term` runs over the node's name and its prose
synonyms (misspellings, plurals, abbreviations and bare adjectives are left out), `side` is the
patient side the region lies on and `zone` its lung zone (projection films, lung/pleura findings).
The choice is deterministic: the canonical name comes first, the other variants rotate through the
synonyms by a hash of the region id, so the same region always gets the same phrases.
"""

from __future__ import annotations

import hashlib
from typing import Any

from extractors.grounding.rows import grounding_row
from extractors.grounding.scene import ImageScene
from schemas.ontology import Node, Ontology

ZONE_WORDS = {"upper_lung_zone": "upper zone", "middle_lung_zone": "middle zone", "lower_lung_zone": "lower zone"}
ADJECTIVE_ENDINGS = ("ic", "ac", "ed", "al", "ar", "ous", "ive")
MAX_TERMS = 4
DEFAULT_VARIANTS = 4


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _singulars(form: str) -> set[str]:
    out = {form}
    for suffix, repl in (("ies", "y"), ("ces", "x"), ("es", ""), ("s", "")):
        if form.endswith(suffix):
            out.add(form[: -len(suffix)] + repl)
    return out


def prose_terms(node: Node, limit: int = MAX_TERMS) -> list[str]:
    """The node's name, then synonyms usable in prose, in the ontology's order."""
    kept = [node.name.lower()]
    for syn in node.synonyms:
        form = syn.strip()
        low = form.lower()
        if not form or any(w.isupper() and len(w) > 1 for w in form.split()):
            continue  # abbreviation (PTX, LLL)
        if " " not in low and low.endswith(ADJECTIVE_ENDINGS):
            continue  # bare adjective (atelectatic, opacified)
        if _singulars(low) & set(kept) and low not in kept:
            continue  # plural of a kept form
        if any(edit_distance(low, k) <= max(2, len(low) // 4) for k in kept):
            continue  # misspelling or near-duplicate
        kept.append(low)
        if len(kept) >= limit:
            break
    return kept


def _is_under(onto: Ontology, codes: tuple[str, ...], ancestor: str) -> bool:
    return any(c in onto and onto.is_a(c, ancestor) for c in codes)


def template_phrases(
    onto: Ontology, scene: ImageScene, region: dict[str, Any], n_variants: int = DEFAULT_VARIANTS
) -> list[str]:
    """Deterministic phrases for one labelled region (empty when it has no known code)."""
    code = region.get("code")
    if code is None or code not in onto or code == "no_finding":
        return []
    node = onto.get(code)
    terms = prose_terms(node)
    if node.kind == "anatomy":
        return terms[:n_variants]
    side = scene.side(region)
    side = side if side in ("left", "right") and not _is_under(onto, node.sites, "mediastinum") else None
    paired = _is_under(onto, node.sites, "lung") or _is_under(onto, node.sites, "pleura")
    zone = ZONE_WORDS.get(scene.zone(region) or "") if paired else None
    patterns: list[str] = []
    if side and zone:
        patterns += ["{t} in the {s} {z}", "{t} in the {z} of the {s} lung"]
    elif zone:
        patterns += ["{t} in the {z}"]
    if side:
        patterns += ["{s} {t}", "{t} in the {s} lung"] if paired else ["{s} {t}"]
    patterns.append("{t}")
    rot = int(hashlib.sha256(region["region_id"].encode()).hexdigest()[:8], 16)
    out: list[str] = []
    for i in range(2 * len(terms) * len(patterns) + 1):
        term = terms[0] if i == 0 else terms[(i + rot) % len(terms)]
        phrase = patterns[i % len(patterns)].format(t=term, s=side, z=zone)
        if phrase not in out:
            out.append(phrase)
        if len(out) >= n_variants:
            break
    return out


def template_rows(
    onto: Ontology, scene: ImageScene, regions: list[dict[str, Any]], n_variants: int = DEFAULT_VARIANTS
) -> list[dict[str, Any]]:
    """`template` GROUNDING rows for every labelled region, sorted by region then variant order."""
    rows: list[dict[str, Any]] = []
    for region in sorted(regions, key=lambda r: r["region_id"]):
        for phrase in template_phrases(onto, scene, region, n_variants):
            rows.append(grounding_row(region, method="template", phrase=phrase, code=region["code"],
                                      score=None, code_match="exact"))
    return rows
