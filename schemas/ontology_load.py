"""Read the ontology's YAML files into plain data, resolve inheritance, and check integrity.

A root file holds `version` and may `include` other files (globs relative to it); every file may hold
`nodes` (a list), `series` (node templates expanded over a number range and/or sides, see
schemas.ontology_series), `label_maps` (source → {note, labels, dropped}), `label_sets` (name → [[label, code]])
and `rules` (`exclusive`: codes that exclude every other finding). Nodes inherit `kind`, `modalities`
and `sites` from their parent when they do not declare them; `implies` (findings a positive mention
also asserts) is not inherited as data, but the closure (Ontology.implied) follows ancestors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas.ontology_model import LATERALITY_VALUES, NODE_KINDS, Node, normalise
from schemas.ontology_series import expand_series

NODE_KEYS = {"code", "name", "kind", "parent", "synonyms", "modalities", "sites", "xrefs", "laterality", "implies"}
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MERGED_KEYS = ("nodes", "label_maps", "label_sets", "rules")


@dataclass
class OntologyData:
    """Everything the YAML files say, before it becomes an Ontology."""

    version: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    label_maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    label_sets: dict[str, list[list[str]]] = field(default_factory=dict)
    exclusive: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def read_data(path: Path) -> OntologyData:
    """Read a root ontology file (or a folder holding `ontology.yaml`) and every file it includes."""
    root = path / "ontology.yaml" if path.is_dir() else path
    doc = yaml.safe_load(root.read_text()) or {}
    data = OntologyData(version=str(doc.get("version", "0.0.0")))
    merge_doc(data, doc, root.name)
    for pattern in doc.get("include") or []:
        for inc in sorted(root.parent.glob(pattern)):
            merge_doc(data, yaml.safe_load(inc.read_text()) or {}, inc.relative_to(root.parent).as_posix())
    return data


def merge_doc(data: OntologyData, doc: dict[str, Any], name: str) -> None:
    data.files.append(name)
    for node in [*(doc.get("nodes") or []), *expand_series(doc.get("series") or [])]:
        data.nodes.append({**node, "_file": name})
    for source, entry in (doc.get("label_maps") or {}).items():
        if source in data.label_maps:
            raise ValueError(f"{name}: label map {source!r} defined twice")
        data.label_maps[source] = entry or {}
    for set_name, pairs in (doc.get("label_sets") or {}).items():
        data.label_sets[set_name] = [list(p) for p in pairs]
    data.exclusive.extend((doc.get("rules") or {}).get("exclusive") or [])


def check_nodes(raw: list[dict[str, Any]]) -> list[str]:
    """Problems in the node list alone: keys, codes, kinds, parents, cycles."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for node in raw:
        where = f"{node.get('_file')}: node {node.get('code')!r}"
        extra = set(node) - NODE_KEYS - {"_file"}
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        code = node.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code):
            problems.append(f"{where}: code must be lower_snake_case")
            continue
        if code in seen:
            problems.append(f"{where}: duplicate code (also in {seen[code]})")
        seen[code] = str(node.get("_file"))
        if not node.get("name"):
            problems.append(f"{where}: no name")
        if node.get("kind") is not None and node["kind"] not in NODE_KINDS:
            problems.append(f"{where}: kind {node['kind']!r} not in {NODE_KINDS}")
        if node.get("kind") is None and node.get("parent") is None:
            problems.append(f"{where}: a root node must declare its kind")
        if node.get("laterality") is not None and node["laterality"] not in LATERALITY_VALUES:
            problems.append(f"{where}: laterality must be one of {LATERALITY_VALUES}")
    parents = {n["code"]: n.get("parent") for n in raw if isinstance(n.get("code"), str)}
    for code, parent in parents.items():
        if parent is not None and parent not in parents:
            problems.append(f"node {code!r}: dangling parent {parent!r}")
    problems.extend(f"cycle through {code!r}" for code in find_cycles(parents))
    return problems


def find_cycles(parents: dict[str, str | None]) -> list[str]:
    """Codes that are their own ancestor (one entry per cycle, its smallest code)."""
    cycles: set[str] = set()
    for start in parents:
        seen: list[str] = []
        code: str | None = start
        while code is not None and code in parents and code not in seen:
            seen.append(code)
            code = parents[code]
        if code is not None and code in seen:
            cycles.add(min(seen[seen.index(code) :]))
    return sorted(cycles)


def resolve_nodes(raw: list[dict[str, Any]]) -> dict[str, Node]:
    """Build Node records with inherited kind/modalities/sites. Assumes check_nodes found no problems."""
    by_code = {n["code"]: n for n in raw}
    out: dict[str, Node] = {}

    def build(code: str) -> Node:
        if code in out:
            return out[code]
        spec = by_code[code]
        parent = build(spec["parent"]) if spec.get("parent") else None

        def inherit(key: str) -> Any:
            if key in spec and spec[key] is not None:
                return spec[key]
            return getattr(parent, key) if parent is not None else None

        synonyms = tuple(dict.fromkeys(str(s) for s in spec.get("synonyms") or []))
        out[code] = Node(
            code=code,
            name=str(spec["name"]),
            kind=inherit("kind"),
            parent=spec.get("parent"),
            synonyms=synonyms,
            modalities=tuple(inherit("modalities") or ()),
            sites=tuple(inherit("sites") or ()),
            xrefs={str(k): v for k, v in sorted((spec.get("xrefs") or {}).items())},
            laterality=spec.get("laterality"),
            implies=tuple(dict.fromkeys(str(c) for c in spec.get("implies") or [])),
        )
        return out[code]

    for code in sorted(by_code):
        build(code)
    return dict(sorted(out.items()))


def surface_index(nodes: dict[str, Node]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Normalised surface form → (code, rule) over codes, names and synonyms; and the collisions."""
    index: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for node in nodes.values():
        forms = [(node.code, "code"), (node.name, "name")] + [(s, "synonym") for s in node.synonyms]
        for text, rule in forms:
            key = normalise(text)
            if not key:
                problems.append(f"node {node.code!r}: empty surface form {text!r}")
                continue
            if key in index and index[key][0] != node.code:
                problems.append(f"surface form {key!r} of {node.code!r} already names {index[key][0]!r}")
                continue
            if key not in index or (rule == "name" and index[key][1] == "code"):
                index[key] = (node.code, rule)
    return index, problems
