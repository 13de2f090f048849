"""Report-level labels derived from mentions through the ontology, for a named label set.

A mention counts for a label when its code *entails* the label's code: a positive child implies its
ancestors ("loculated pleural effusion" → Effusion; "lobar pneumonia" → Pneumonia and Lung Opacity) and
what the ontology says its node `implies` ("pulmonary vascular congestion" → Edema, "hydropneumothorax"
→ Pneumothorax and Effusion, "COPD" → Emphysema). Negation follows the hierarchy only: "no vascular
congestion" is not "no edema" (in the chexpert scheme a negated implying mention still sets 0 when
nothing else speaks to the label, as the CheXpert labeler's mention lists do).
Only mentions in the label sections count (findings, impression, unsectioned by default), never
historical ones, nor rows a run flagged OUTSIDE_LABEL_SECTIONS (the `findings.rules` stage's
`label_sections` param). Uncertain mentions follow `uncertain`: "positive", "negative", or "probable" (the
default: hedged-towards-present wordings such as "likely", "suggestive of" count, "possible",
"cannot be excluded", "versus" do not).

A label set with a definition file (`data/label_sets/<name>.tsv`, e.g. chestxray14: NegBio's concept
definitions) counts only the nodes its rows include and not those they exclude nor the matched phrases
an `exclude_phrase` row names ("volume loss" is not Atelectasis, "aspiration" alone not Pneumonia), and follows
no `implies` link (a calcified granuloma is not a Nodule, scarring not Fibrosis, vascular congestion not Edema); label
sets without one (chexpert, vindr_cxr, chestxray14_broad) use the ontology entailment above, the clinically
broader mapping: `chestxray14_broad` has ChestX-ray14's 14 columns under that entailment (vascular congestion
→ Edema, COPD → Emphysema), for exports that want the ontology-level reading under the same header.

Schemes: "binary" (0/1 per label, plus `normal` = 1 when nothing is positive) and "chexpert"
(1 positive, -1 uncertain, 0 negative, None blank = not mentioned; "No Finding" = 1 when no other
label except Support Devices is 1 or -1, else blank). A negated mention of a node sets 0 for it and
its descendants ("no acute opacity" → Lung Opacity 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from extractors.reports.rules import DATA_DIR, read_tsv
from extractors.reports.sections import LABEL_SECTIONS
from schemas.errors import ConfigError
from schemas.ontology import Ontology

NORMAL = "normal"
SCHEMES = ("binary", "chexpert")
UNCERTAIN_POLICIES = ("positive", "negative", "probable")
NO_FINDING = "no_finding"
DEVICE_LABEL_CODES = ("support_device",)
OUTSIDE_LABEL_SECTIONS = "outside_label_sections"  # row flag: its section does not feed labels in this run


class MentionLike(Protocol):
    code: str
    section: str
    certainty: str
    flags: tuple[str, ...] | list[str]


@dataclass(frozen=True)
class LabelDefinition:
    """One label of a definition file: the nodes it counts, the nodes it does not, and the matched phrases
    (lower case, whole mention) it does not count although their node is included ("volume loss" is an
    atelectasis node's synonym, but not ChestX-ray14's Atelectasis)."""

    include: frozenset[str]
    exclude: frozenset[str]
    exclude_phrases: frozenset[str]


DEFINITION_RULES = ("include", "exclude", "exclude_phrase")


@cache
def label_definition(label_set: str) -> dict[str, LabelDefinition] | None:
    """Label name → its definition from the label set's definition file; None if the set has none."""
    if not (DATA_DIR / "label_sets" / f"{label_set}.tsv").is_file():
        return None
    out: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for name, rule, value in read_tsv(f"label_sets/{label_set}.tsv", 3):
        if rule not in DEFINITION_RULES:
            raise ValueError(f"label set {label_set}: rule {rule!r} for {name} is not one of {DEFINITION_RULES}")
        slot = out.setdefault(name, (set(), set(), set()))[DEFINITION_RULES.index(rule)]
        slot.add(normal_phrase(value) if rule == "exclude_phrase" else value)
    return {name: LabelDefinition(frozenset(inc), frozenset(exc), frozenset(phr))
            for name, (inc, exc, phr) in out.items()}


def normal_phrase(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def phrase_of(m: object) -> str:
    """The matched text of a mention (Mention.text) or FINDING row (FindingRow.phrase), normalised."""
    return normal_phrase(getattr(m, "text", None) or getattr(m, "phrase", None))


def speaks_for(onto: Ontology, mention_code: str, label_set: str, name: str, code: str, phrase: str = "") -> bool:
    """Whether a positive mention of `mention_code` (matched text `phrase`) counts for the label `name`
    (node `code`)."""
    if mention_code not in onto:
        return False
    definition = label_definition(label_set)
    if definition is None:
        return onto.entails(mention_code, code)
    rule = definition.get(name, LabelDefinition(frozenset({code}), frozenset(), frozenset()))
    return (any(onto.is_a(mention_code, c) for c in rule.include)
            and not any(onto.is_a(mention_code, c) for c in rule.exclude)
            and normal_phrase(phrase) not in rule.exclude_phrases)


def scheme_for(label_set: str) -> str:
    return "chexpert" if label_set.lower().startswith("chexpert") else "binary"


def label_columns(onto: Ontology, label_set: str, scheme: str | None = None) -> list[str]:
    """The label columns written for a label set, in its order (binary adds `normal`)."""
    scheme = scheme or scheme_for(label_set)
    pairs = onto.label_set(label_set)
    if scheme == "binary":
        return [name for name, code in pairs if code != NO_FINDING] + [NORMAL]
    return [name for name, _ in pairs]


def is_positive(m: MentionLike, uncertain: str) -> bool:
    if m.certainty == "present":
        return True
    if m.certainty != "uncertain":
        return False
    return uncertain == "positive" or (uncertain == "probable" and "probable" in m.flags)


def label_mentions(mentions: Iterable[MentionLike], sections: tuple[str, ...]) -> list[MentionLike]:
    """The mentions that may speak to labels: in `sections`, not historical, not flagged outside."""
    return [m for m in mentions
            if m.section in sections and "historical" not in m.flags and OUTSIDE_LABEL_SECTIONS not in m.flags]


def derive_labels(
    mentions: Iterable[MentionLike],
    onto: Ontology,
    label_set: str,
    *,
    scheme: str | None = None,
    sections: tuple[str, ...] = LABEL_SECTIONS,
    uncertain: str = "probable",
) -> dict[str, int | None]:
    """Label name → value for one report's mentions."""
    scheme = scheme or scheme_for(label_set)
    if scheme not in SCHEMES:
        raise ConfigError("scheme", f"unknown label scheme {scheme!r}", allowed=SCHEMES)
    if uncertain not in UNCERTAIN_POLICIES:
        raise ConfigError("uncertain", f"unknown policy {uncertain!r}", allowed=UNCERTAIN_POLICIES)
    used = label_mentions(mentions, sections)
    values: dict[str, int | None] = {}
    for name, code in onto.label_set(label_set):
        if code == NO_FINDING:
            continue
        related = [m for m in used if speaks_for(onto, m.code, label_set, name, code, phrase_of(m))]
        negated = [m for m in used if m.certainty == "absent" and m.code in onto and onto.is_a(code, m.code)]
        if any(is_positive(m, uncertain) for m in related):
            values[name] = 1
        elif scheme == "chexpert" and any(m.certainty == "uncertain" for m in related):
            values[name] = -1
        elif scheme == "chexpert":
            values[name] = 0 if negated or any(m.certainty == "absent" for m in related) else None
        else:
            values[name] = 0
    pairs = onto.label_set(label_set)
    findings = [n for n, c in pairs if c not in (NO_FINDING, *DEVICE_LABEL_CODES)]
    if scheme == "binary":
        values[NORMAL] = int(not any(values[n] == 1 for n in findings))
        return values
    out: dict[str, int | None] = {}
    for name, code in pairs:
        if code == NO_FINDING:
            out[name] = None if any(values[n] in (1, -1) for n in findings) else 1
        else:
            out[name] = values[name]
    return out


def derive_lateralities(
    mentions: Iterable[MentionLike],
    onto: Ontology,
    label_set: str,
    *,
    sections: tuple[str, ...] = LABEL_SECTIONS,
    uncertain: str = "probable",
) -> dict[str, str]:
    """Label name → left/right/bilateral/none over the report's positive mentions of that label."""
    used = label_mentions(mentions, sections)
    out: dict[str, str] = {}
    for name, code in onto.label_set(label_set):
        sides = {getattr(m, "laterality", "none") for m in used
                 if speaks_for(onto, m.code, label_set, name, code, phrase_of(m)) and is_positive(m, uncertain)}
        out[name] = combine_sides(sides)
    return out


def combine_sides(sides: Iterable[str]) -> str:
    """left + right → bilateral; any bilateral → bilateral; one side → it; nothing sided → none."""
    found = {s for s in sides if s in ("left", "right", "bilateral")}
    if "bilateral" in found or {"left", "right"} <= found:
        return "bilateral"
    return found.pop() if found else "none"
