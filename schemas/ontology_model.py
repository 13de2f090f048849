"""The ontology's records (Node, LabelMatch), its error, and the text normalisation of surface forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas.errors import ConfigError

NODE_KINDS = ("anatomy", "finding", "device")
LATERALITY_VALUES = ("left", "right")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Case/punctuation-insensitive key of a surface form: 'Pleural_Thickening' → 'pleural thickening'."""
    return _NON_ALNUM.sub(" ", text.casefold()).strip()


@dataclass(frozen=True)
class Node:
    """One ontology node. `kind`, `modalities` and `sites` are inherited from the parent when not declared."""

    code: str
    name: str
    kind: str  # anatomy | finding | device
    parent: str | None = None
    synonyms: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()  # DICOM modality codes; empty = any
    sites: tuple[str, ...] = ()  # anatomy codes where the finding/device is typically found
    xrefs: dict[str, str | list[str]] = field(default_factory=dict)
    laterality: str | None = None  # left | right for sided anatomy; None otherwise
    implies: tuple[str, ...] = ()  # findings a positive mention also asserts, beside its ancestors


@dataclass(frozen=True)
class LabelMatch:
    """The node a label mapped to, and the rule that matched (label_map:<source>, name, synonym, ...)."""

    code: str
    rule: str


class OntologyError(ConfigError):
    """The ontology data is inconsistent (cycle, collision, dangling reference). Lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:10])
        more = f" (+{len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__("ontology", f"{len(self.problems)} problem(s): {shown}{more}")
