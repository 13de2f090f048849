"""Node series: one YAML template expanded into many nodes (vertebrae C1–C7, ribs 1–12 per side, ...).

    series:
      - range: [1, 12]            # placeholders {n} (1..12) and {ord} (1st, 2nd, ...)
        sides: [left, right]      # placeholder {side}; each node gets `laterality: <side>`
        template:
          code: "{side}_rib_{n}"
          name: "{side} {ord} rib"
          parent: "{side}_ribs"
          xrefs: {totalsegmentator: "rib_{side}_{n}"}
      - each: [{key: gluteus_maximus, label: gluteus maximus}]   # placeholders from each mapping
        sides: [left, right]
        template: {code: "{side}_{key}", name: "{side} {label}", parent: "{key}"}

Every string in the template (also inside lists and mappings) is formatted with the placeholders; an
unknown placeholder is a ValueError. The expansion order is deterministic: values, then sides.
"""

from __future__ import annotations

from typing import Any

SERIES_KEYS = {"range", "each", "sides", "template"}


def ordinal(n: int) -> str:
    """1 → '1st', 2 → '2nd', 11 → '11th', 23 → '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fill(value: Any, values: dict[str, Any]) -> Any:
    """`value` with every string formatted with `values` (recursively through lists and mappings)."""
    if isinstance(value, str):
        try:
            return value.format(**values)
        except KeyError as err:
            raise ValueError(f"series template: unknown placeholder {err} in {value!r}") from err
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    return value


def series_values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The placeholder sets one series spec expands over (range × sides, or each × sides)."""
    extra = set(spec) - SERIES_KEYS
    if extra or not isinstance(spec.get("template"), dict):
        raise ValueError(f"series: needs a template mapping and only {sorted(SERIES_KEYS)} (got {sorted(spec)})")
    if "range" in spec:
        lo, hi = (int(x) for x in spec["range"])
        base = [{"n": n, "ord": ordinal(n)} for n in range(lo, hi + 1)]
    else:
        base = [dict(v) for v in spec.get("each") or [{}]]
    sides = list(spec.get("sides") or [])
    if not sides:
        return base
    return [{**v, "side": side} for v in base for side in sides]


def expand_series(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Node dicts for every series spec, in order."""
    nodes: list[dict[str, Any]] = []
    for spec in specs:
        for values in series_values(spec):
            node = fill(spec["template"], values)
            if "side" in values:
                node.setdefault("laterality", values["side"])
            nodes.append(node)
    return nodes
