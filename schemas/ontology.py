"""medground's label ontology: anatomy, findings and devices as one hierarchy, shipped as YAML data.

    from schemas.ontology import load_ontology
    onto = load_ontology()                       # the shipped default (schemas/ontology/), cached
    onto.map_label("Effusion", source="sources.nih_cxr14")   # LabelMatch(code='pleural_effusion', ...)

Loading checks integrity (cycles, dangling parents/sites/implies/label-map targets, one surface form
naming two nodes, one unique cross-code such as a TotalSegmentator class on two nodes) and raises
OntologyError listing every problem: an inconsistent ontology never loads.

A positive finding asserts its ancestors and what its node `implies` (pulmonary vascular congestion →
pulmonary edema, as CheXpert counts it; hydropneumothorax → pleural effusion): `onto.implied(code)` is
that closure and `onto.entails(code, other)` the test label derivation uses. Negation does not travel
along `implies` ("no vascular congestion" says nothing about edema in the ChestX-ray14 scheme).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from schemas.ontology_diff import OntologyDiff, diff_ontologies
from schemas.ontology_load import OntologyData, check_nodes, read_data, resolve_nodes, surface_index
from schemas.ontology_model import LabelMatch, Node, OntologyError, normalise

__all__ = [
    "ONTOLOGY_VERSION",
    "LabelMatch",
    "Node",
    "Ontology",
    "OntologyDiff",
    "OntologyError",
    "diff",
    "load_ontology",
    "normalise",
]

DEFAULT_PATH = Path(__file__).with_name("ontology") / "ontology.yaml"
# Cross-code schemes whose values name one node each (a segmentation class is one structure).
UNIQUE_XREF_SCHEMES = ("totalsegmentator",)
# Words a label may carry in front of a node name without changing the node ("left pleural effusion").
MODIFIER_WORDS = frozenset(
    {"left", "right", "bilateral", "bibasilar", "small", "large", "moderate", "mild", "severe", "minimal"}
    | {"trace", "tiny", "new", "old", "chronic", "acute", "residual", "possible", "probable", "likely"}
)


class Ontology:
    """The loaded, validated hierarchy with its label maps and label sets. Immutable after construction."""

    def __init__(self, data: OntologyData) -> None:
        problems = check_nodes(data.nodes)
        if problems:
            raise OntologyError(problems)
        self.version = data.version
        self.files = tuple(data.files)
        self.nodes: dict[str, Node] = resolve_nodes(data.nodes)
        self._children: dict[str, list[str]] = {c: [] for c in self.nodes}
        for node in self.nodes.values():
            if node.parent is not None:
                self._children[node.parent].append(node.code)
        self._surface, problems = surface_index(self.nodes)
        self._maps: dict[str, dict[str, str | None]] = {}
        self._map_keys: dict[str, dict[str, str | None]] = {}
        self.drop_reasons: dict[str, dict[str, str]] = {}
        self.map_notes: dict[str, str] = {}
        for source, entry in sorted(data.label_maps.items()):
            problems.extend(self._add_label_map(source, entry))
        self._sets = {name: [(str(a), str(b)) for a, b in pairs] for name, pairs in data.label_sets.items()}
        problems.extend(self._check_references(data))
        self._xrefs, xref_problems = self._index_xrefs()
        problems.extend(xref_problems)
        if problems:
            raise OntologyError(problems)
        self._implied = {code: self._close(code) for code in self.nodes}
        self.exclusive = tuple(sorted(set(data.exclusive)))

    # ---- construction helpers ---------------------------------------------------------------------
    def _add_label_map(self, source: str, entry: dict) -> list[str]:
        problems: list[str] = []
        labels: dict[str, str | None] = {str(k): str(v) for k, v in (entry.get("labels") or {}).items()}
        dropped = {str(k): str(v) for k, v in (entry.get("dropped") or {}).items()}
        for label, reason in dropped.items():
            if label in labels:
                problems.append(f"label map {source}: {label!r} both mapped and dropped")
            if not reason.strip():
                problems.append(f"label map {source}: {label!r} dropped without a reason")
            labels[label] = None
        keys: dict[str, str | None] = {}
        for label, code in labels.items():
            if code is not None and code not in self.nodes:
                problems.append(f"label map {source}: {label!r} → unknown code {code!r}")
            key = normalise(label)
            if key in keys and keys[key] != code:
                problems.append(f"label map {source}: {label!r} collides with another label once normalised")
            keys[key] = code
        self._maps[source] = dict(sorted(labels.items()))
        self._map_keys[source] = keys
        self.drop_reasons[source] = {normalise(k): v for k, v in dropped.items()}
        self.map_notes[source] = str(entry.get("note") or "")
        return problems

    def _check_references(self, data: OntologyData) -> list[str]:
        problems: list[str] = []
        for node in self.nodes.values():
            for site in node.sites:
                if site not in self.nodes:
                    problems.append(f"node {node.code!r}: dangling site {site!r}")
                elif self.nodes[site].kind != "anatomy":
                    problems.append(f"node {node.code!r}: site {site!r} is not anatomy")
            for target in node.implies:
                if target not in self.nodes:
                    problems.append(f"node {node.code!r}: implies unknown code {target!r}")
                elif target == node.code or target in self.ancestors(node.code):
                    problems.append(f"node {node.code!r}: implies {target!r}, which it already is")
                elif self.nodes[target].kind != node.kind:
                    problems.append(f"node {node.code!r}: implies {target!r} of another kind")
        for name, pairs in self._sets.items():
            problems.extend(f"label set {name}: unknown code {c!r}" for _, c in pairs if c not in self.nodes)
        problems.extend(f"rules.exclusive: unknown code {c!r}" for c in data.exclusive if c not in self.nodes)
        return problems

    def _index_xrefs(self) -> tuple[dict[str, dict[str, str]], list[str]]:
        index: dict[str, dict[str, str]] = {s: {} for s in UNIQUE_XREF_SCHEMES}
        problems: list[str] = []
        for node in self.nodes.values():
            for scheme in UNIQUE_XREF_SCHEMES:
                raw = node.xrefs.get(scheme)
                for value in [raw] if isinstance(raw, str) else raw or []:
                    if value in index[scheme]:
                        problems.append(f"xref {scheme}:{value} on {node.code!r} already on {index[scheme][value]!r}")
                    index[scheme].setdefault(str(value), node.code)
        return index, problems

    def _close(self, code: str) -> tuple[str, ...]:
        """Ancestors, then implied codes and their own closure, breadth first, without repeats."""
        out: list[str] = []
        queue = [*self.ancestors(code), *self.nodes[code].implies]
        while queue:
            nxt = queue.pop(0)
            if nxt == code or nxt in out:
                continue
            out.append(nxt)
            queue.extend([*self.ancestors(nxt), *self.nodes[nxt].implies])
        return tuple(out)

    # ---- hierarchy --------------------------------------------------------------------------------
    def __contains__(self, code: object) -> bool:
        return code in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, code: str) -> Node:
        return self.nodes[code]

    def ancestors(self, code: str) -> list[str]:
        out: list[str] = []
        parent = self.nodes[code].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return out

    def path(self, code: str) -> list[str]:
        return [*reversed(self.ancestors(code)), code]

    def children(self, code: str) -> list[str]:
        return sorted(self._children[code])

    def descendants(self, code: str) -> list[str]:
        out: list[str] = []
        stack = self.children(code)
        while stack:
            child = stack.pop(0)
            out.append(child)
            stack.extend(self.children(child))
        return out

    def is_a(self, code: str, other: str) -> bool:
        return code == other or other in self.ancestors(code)

    def implied(self, code: str) -> list[str]:
        """Everything a positive `code` asserts besides itself: its ancestors and its `implies` closure."""
        return list(self._implied[code])

    def entails(self, code: str, other: str) -> bool:
        """A positive `code` asserts `other`: the same node, a descendant of it, or implied by it."""
        return code == other or other in self._implied[code]

    def roots(self, kind: str | None = None) -> list[str]:
        return [c for c, n in self.nodes.items() if n.parent is None and (kind is None or n.kind == kind)]

    # ---- text → code ------------------------------------------------------------------------------
    def lookup(self, text: str) -> str | None:
        hit = self._surface.get(normalise(text))
        return hit[0] if hit else None

    def by_xref(self, scheme: str, value: str) -> str | None:
        """The node carrying a unique cross-code ('totalsegmentator', 'rib_left_5' → 'left_rib_5')."""
        return self._xrefs.get(scheme, {}).get(value)

    def surface_forms(self) -> dict[str, str]:
        return {form: code for form, (code, _) in sorted(self._surface.items())}

    def map_label(self, label: str, source: str | None = None) -> LabelMatch | None:
        """Source label map first (None if the map drops the label), then names/synonyms, then
        the same without a plural 's' or leading modifiers ('left', 'small', ...)."""
        key = normalise(label)
        if source is not None and key in self._map_keys.get(source, {}):
            code = self._map_keys[source][key]
            return LabelMatch(code, f"label_map:{source}") if code is not None else None
        if key in self._surface:
            code, rule = self._surface[key]
            return LabelMatch(code, rule)
        words = key.split()
        while words and words[0] in MODIFIER_WORDS:
            words = words[1:]
        stripped = " ".join(words)
        if stripped != key and stripped in self._surface:
            return LabelMatch(self._surface[stripped][0], "modifier")
        for cand in (stripped[:-1], stripped[:-2]) if stripped.endswith("s") else ():
            if cand in self._surface:
                return LabelMatch(self._surface[cand][0], "singular")
        return None

    def drop_reason(self, label: str, source: str) -> str | None:
        """Why the source's label map drops this label on purpose; None if it does not drop it."""
        return self.drop_reasons.get(source, {}).get(normalise(label))

    def label_map(self, source: str) -> dict[str, str | None]:
        return dict(self._maps.get(source, {}))

    def label_maps(self) -> list[str]:
        return sorted(self._maps)

    def label_set(self, name: str) -> list[tuple[str, str]]:
        return list(self._sets[name])

    def label_sets(self) -> list[str]:
        return sorted(self._sets)


@cache
def _load_cached(path: str) -> Ontology:
    return Ontology(read_data(Path(path)))


def load_ontology(path: str | Path | None = None) -> Ontology:
    """The ontology at `path` (a root YAML file or a folder with ontology.yaml); default: the shipped one."""
    target = Path(path) if path is not None else DEFAULT_PATH
    return _load_cached(str(target.resolve()))


ONTOLOGY_VERSION: str = str(yaml.safe_load(DEFAULT_PATH.read_text()).get("version", "0.0.0"))


def diff(old: Ontology, new: Ontology) -> OntologyDiff:
    """What changed from `old` to `new` (see schemas.ontology_diff)."""
    return diff_ontologies(old, new)
