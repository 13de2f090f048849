from __future__ import annotations

from extractors.reports.rules import (
    CATEGORIES,
    DIRECTIONS,
    abbreviations,
    anchored_heads,
    context_rules,
    expand_pattern,
)
from schemas.ontology import load_ontology


def test_expand_pattern_choices_and_optionals() -> None:
    assert expand_pattern("heart (is|appears) [mildly] enlarged") == [
        "heart appears enlarged", "heart appears mildly enlarged", "heart is enlarged", "heart is mildly enlarged",
    ]
    assert expand_pattern("plain") == ["plain"]


def test_rule_files_are_well_formed() -> None:
    rules = context_rules()
    assert len(rules) > 100
    assert all(r.category in CATEGORIES and r.direction in DIRECTIONS for r in rules)
    assert abbreviations()["PTX"] == "pneumothorax"


def test_anchored_heads_resolve_to_ontology_nodes() -> None:
    onto = load_ontology()
    heads = anchored_heads()
    assert heads["thickening"].anchors >= {"pleural", "pleura"}
    assert all(onto.lookup(rule.expansion) is not None for rule in heads.values())
