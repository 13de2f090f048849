"""The CMC 2007 challenge reports (ICD-9-CM coded pediatric radiology reports) as a label gold.

File format (as distributed): `<docs><doc id=.. type="RADIOLOGY_REPORT"><codes><code origin=..
type="ICD-9-CM">486</code>…</codes><texts><text origin=.. type="CLINICAL_HISTORY|IMPRESSION">…</text>
</texts></doc>…</docs>`. Codes come from three coders (COMPANY1..3) and their majority
(`CMC_MAJORITY`); the gold is the majority. ICD-9 coding guidelines do not code negated or uncertain
diagnoses ("question pneumonia" is not 486), so a majority code is a *present* finding.

The report text is composed exactly as `medground findings extract --text-cols "clinical history,
impression"` composes it ("CLINICAL HISTORY: …\\n\\nIMPRESSION: …"), so the history is a history
section (never a positive label) and the impression feeds the labels.

ICD-9 → ontology mapping is data (data/cmc_icd9.tsv, longest prefix wins). A report is gold-positive
for a label when one of its majority codes maps to a node that counts for the label under the label
set's own definition (`extractors.reports.labels.speaks_for`: the definition file where the set has
one, else the ontology entailment), the same rule the exported labels follow.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from extractors.reports.labels import speaks_for
from schemas.errors import ConfigError
from schemas.ontology import Ontology

ICD9_TABLE = Path(__file__).with_name("data") / "cmc_icd9.tsv"
MAJORITY = "CMC_MAJORITY"
SECTION_ORDER = ("CLINICAL_HISTORY", "IMPRESSION")


@dataclass(frozen=True)
class CmcReport:
    rid: str
    sections: tuple[tuple[str, str], ...]  # (type, text) in file order
    majority: tuple[str, ...]  # CMC_MAJORITY ICD-9 codes
    coders: dict[str, tuple[str, ...]]  # origin → codes (the three companies)

    def columns(self) -> dict[str, str]:
        """The sections as CSV-like columns named as `--text-cols` would name them ("clinical history")."""
        return {section_column(kind): text for kind, text in self.sections}


@dataclass(frozen=True)
class Icd9Rule:
    prefix: str
    code: str | None  # ontology code, None = no node
    note: str


def section_column(kind: str) -> str:
    return kind.replace("_", " ").lower()


def parse_cmc(source: str | Path) -> list[CmcReport]:
    """Parse the CMC XML (a path, or the XML text itself when it starts with "<")."""
    try:
        if isinstance(source, str) and source.lstrip().startswith("<"):
            root = ET.fromstring(source)
        else:
            root = ET.parse(source).getroot()
    except ET.ParseError as err:
        raise ValueError(f"CMC file is not well-formed XML: {err}") from err
    if root.tag != "docs":
        raise ValueError(f"CMC file: root element is <{root.tag}>, expected <docs>")
    out = []
    for doc in root.iter("doc"):
        rid = doc.get("id")
        if not rid:
            raise ValueError("CMC file: a <doc> has no id attribute")
        coders: dict[str, list[str]] = {}
        for code in doc.iterfind("codes/code"):
            if (code.get("type") or "ICD-9-CM") != "ICD-9-CM" or not (code.text or "").strip():
                continue
            coders.setdefault(code.get("origin") or "", []).append(code.text.strip())
        texts = [(t.get("type") or "TEXT", " ".join((t.text or "").split())) for t in doc.iterfind("texts/text")]
        texts.sort(key=lambda kt: SECTION_ORDER.index(kt[0]) if kt[0] in SECTION_ORDER else len(SECTION_ORDER))
        majority = tuple(coders.pop(MAJORITY, []))
        out.append(CmcReport(rid, tuple(texts), majority, {k: tuple(v) for k, v in sorted(coders.items())}))
    return out


def read_icd9_table(path: Path = ICD9_TABLE, onto: Ontology | None = None) -> list[Icd9Rule]:
    rules = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ConfigError(f"{path.name}:{n}", "expected 3 tab-separated fields: icd9, ontology_code, note")
        prefix, code, note = (p.strip() for p in parts)
        if onto is not None and code != "-" and code not in onto:
            raise ConfigError(f"{path.name}:{n}", f"ontology code {code!r} is not a node")
        rules.append(Icd9Rule(prefix, None if code == "-" else code, note))
    return rules


def match_icd9(code: str, rules: list[Icd9Rule]) -> Icd9Rule | None:
    """The rule with the longest prefix of `code`: "511.9" over "511"; a prefix with a decimal point
    takes its sub-codes ("277.0" matches 277.00); one without takes only its decimal children ("486"
    matches 486 and 486.1, never 4860); a letter ("V") takes every code it starts."""
    hits = [r for r in rules if code == r.prefix or code.startswith(r.prefix + ".")
            or (("." in r.prefix or r.prefix.isalpha()) and code.startswith(r.prefix))]
    return max(hits, key=lambda r: len(r.prefix)) if hits else None


@dataclass(frozen=True)
class CmcGold:
    labels: list[str]  # scored label names (gold support > 0), label-set order
    unscored: list[str]  # labels a mapped code reaches, but no report in this set is gold-positive for
    values: dict[str, dict[str, int]]  # report id → label → 0/1
    unmapped: dict[str, tuple[int, str]]  # ICD-9 code → (reports, reason): codes with no ontology node
    unknown: dict[str, int]  # ICD-9 code → reports: codes the table has no row for


def cmc_gold(reports: list[CmcReport], onto: Ontology, label_set: str, rules: list[Icd9Rule]) -> CmcGold:
    """The label gold of `reports` for a label set, with every majority code accounted for."""
    pairs = onto.label_set(label_set)
    unmapped: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    unknown: Counter[str] = Counter()
    values: dict[str, dict[str, int]] = {}
    reachable: set[str] = set()
    for r in rules:
        if r.code is not None:
            reachable |= {name for name, lc in pairs if speaks_for(onto, r.code, label_set, name, lc)}
    for rep in reports:
        targets = set()
        for icd in rep.majority:
            rule = match_icd9(icd, rules)
            if rule is None:
                unknown[icd] += 1
            elif rule.code is None:
                unmapped[icd] += 1
                reasons[icd] = rule.note
            else:
                targets.add(rule.code)
        values[rep.rid] = {name: int(any(speaks_for(onto, t, label_set, name, lc) for t in targets))
                           for name, lc in pairs}
    support = Counter(name for v in values.values() for name, x in v.items() if x)
    scored = [name for name, _ in pairs if support[name] > 0]
    unscored = [name for name, _ in pairs if name in reachable and support[name] == 0]
    return CmcGold(scored, unscored, values, {c: (n, reasons[c]) for c, n in sorted(unmapped.items())},
                   dict(sorted(unknown.items())))
