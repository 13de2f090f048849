"""What changed between two ontology versions: nodes added/removed/renamed/reparented, codes
replaced (a removed code whose name lives on under a new code), synonym, implies and label-map changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from schemas.ontology_model import normalise

if TYPE_CHECKING:
    from schemas.ontology import Ontology


@dataclass
class OntologyDiff:
    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recoded: dict[str, str] = field(default_factory=dict)  # old code → new code (same name)
    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (old name, new name)
    reparented: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    synonyms_added: dict[str, list[str]] = field(default_factory=dict)
    synonyms_removed: dict[str, list[str]] = field(default_factory=dict)
    label_maps_changed: dict[str, list[str]] = field(default_factory=dict)  # source → changed labels
    implies_changed: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # code → (old, new)

    def is_empty(self) -> bool:
        return not any(
            (self.added, self.removed, self.recoded, self.renamed, self.reparented, self.synonyms_added,
             self.synonyms_removed, self.label_maps_changed, self.implies_changed)
        )

    def lines(self) -> list[str]:
        """Human-readable, deterministic lines (one change per line)."""
        out = [f"version {self.old_version} → {self.new_version}"]
        out += [f"+ {c}" for c in self.added]
        out += [f"- {c}" for c in self.removed]
        out += [f"~ recoded {a} → {b}" for a, b in self.recoded.items()]
        out += [f"~ renamed {c}: {a!r} → {b!r}" for c, (a, b) in self.renamed.items()]
        out += [f"~ reparented {c}: {a} → {b}" for c, (a, b) in self.reparented.items()]
        out += [f"~ synonyms {c}: +{s}" for c, s in self.synonyms_added.items()]
        out += [f"~ synonyms {c}: -{s}" for c, s in self.synonyms_removed.items()]
        out += [f"~ implies {c}: {a} → {b}" for c, (a, b) in self.implies_changed.items()]
        out += [f"~ label map {src}: {labels}" for src, labels in self.label_maps_changed.items()]
        return out


def diff_ontologies(old: Ontology, new: Ontology) -> OntologyDiff:
    d = OntologyDiff(old.version, new.version)
    old_codes, new_codes = set(old.nodes), set(new.nodes)
    added, removed = sorted(new_codes - old_codes), sorted(old_codes - new_codes)
    new_by_name = {normalise(new.get(c).name): c for c in added}
    for code in removed:
        target = new_by_name.get(normalise(old.get(code).name))
        if target is not None:
            d.recoded[code] = target
    d.added = [c for c in added if c not in d.recoded.values()]
    d.removed = [c for c in removed if c not in d.recoded]
    pairs = [(c, c) for c in sorted(old_codes & new_codes)] + sorted(d.recoded.items())
    for old_code, new_code in pairs:
        a, b = old.get(old_code), new.get(new_code)
        if a.name != b.name:
            d.renamed[new_code] = (a.name, b.name)
        if d.recoded.get(a.parent or "", a.parent) != b.parent:
            d.reparented[new_code] = (a.parent, b.parent)
        if sorted(a.implies) != sorted(b.implies):
            d.implies_changed[new_code] = (sorted(a.implies), sorted(b.implies))
        syn_a = {normalise(s) for s in a.synonyms}
        syn_b = {normalise(s) for s in b.synonyms}
        if syn_b - syn_a:
            d.synonyms_added[new_code] = sorted(syn_b - syn_a)
        if syn_a - syn_b:
            d.synonyms_removed[new_code] = sorted(syn_a - syn_b)
    for source in sorted(set(old.label_maps()) | set(new.label_maps())):
        ma, mb = old.label_map(source), new.label_map(source)
        changed = sorted(k for k in set(ma) | set(mb) if ma.get(k, "<absent>") != mb.get(k, "<absent>"))
        if changed:
            d.label_maps_changed[source] = changed
    return d
