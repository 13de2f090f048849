"""The rule data of the report extractor, read from `extractors/reports/data/*.tsv`.

- context_rules.tsv: ConText-style triggers (pattern, category, direction; patterns as in phrases.tsv);
- abbreviations.tsv: radiology abbreviations (short form, expansion as an ontology surface form);
- anchored_heads.tsv: bare finding words read as a finding only after an anchor word in their sentence
  (head, anchors, expansion, after-anchors of its own phrase): "pleural fluid and thickening" → pleural thickening,
  "infection in the left lung base" → pneumonia;
- guarded_heads.tsv: finding words dropped when the nearest cue word beside them is another organ's
  (head, expansion, blockers, releases): "compression fracture of T12 with collapse" is no atelectasis;
- guard_reroutes.tsv: blockers of a guarded head after which it names another finding instead of nothing
  (head, blockers, expansion): "emphysema in the soft tissues of the neck" is a subcutaneous emphysema;
- scope_restarts.tsv: side/region words that, right after a negated finding with no join, open a new noun phrase;
- weak_sides.tsv: words that give a finding a side only when nothing else in its segment does ("retrocardiac"
  → left, "diffuse" → bilateral);
- comparative_sides.tsv: comparative words that, right before a side, put a finding on both sides ("effusions,
  greater on the right" → bilateral);
- purpose_links.tsv: links after a negated list that keep the finding after them in its negation ("no effusion or
  focal opacity to suggest pneumonia");
- interpretive_links.tsv: words linking a sided description to the finding it is read as ("left basilar density,
  likely atelectasis"): the finding takes the description's side;
- side_bridges.tsv: anatomy whose side reaches a lung/pleural finding from a finding of an unpaired site ("right
  rib fractures with small pneumothorax");
- device_sides.tsv: devices whose side reaches a finding their placement causes ("left IJ line with small apical
  pneumothorax");
- surgical_sides.tsv: sided chest procedures whose side reaches an unsided pleural finding of the sentence
  ("status post left lobectomy with small effusion");
- unsided_findings.tsv: finding codes that never inherit a side though a site of theirs is paired (hiatal hernia);
- weak_side_pairs.tsv: two-word anatomy names that give a side as weak_sides.tsv's words do ("minor fissure");
- sideless_findings.tsv: finding codes that never have a side, not even from their own phrase (cardiomegaly: "right
  heart enlargement" names a chamber);
- back_joins.tsv: words that may stand between two coordinated findings for a side after the second to reach the
  first ("atelectasis and small effusion on the left");
- link_skip.tsv: words between an interpretive link and its finding ("likely subsegmental atelectasis");
- dotted_side_modifiers.tsv: words after which a dotted side is a pre-modifier and never ends its sentence
  ("small Rt. Pleural effusion");
- each_side.tsv: two-word phrases that put a finding on both sides ("on each side", "in either lung");
- phrases.tsv: extra finding patterns (pattern, expansion), where `(a|b)` is a choice and `[a|b]` an
  optional choice, so "heart (is|appears) [mildly|markedly] enlarged" is six phrases.

Expansions are resolved through the ontology (`onto.lookup`) by the matcher, never hard-coded codes,
so the ontology stays the one place that names things.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES = ("NEGATED", "RESOLVED", "REMOVED", "UNCERTAIN", "PROBABLE", "HISTORICAL", "PSEUDO", "TERMINATE")
DIRECTIONS = ("forward", "backward", "bidirectional", "sentence", "clause", "inside", "none")
_GROUP = re.compile(r"(\(([^()\[\]]*)\)|\[([^()\[\]]*)\])")


@dataclass(frozen=True)
class ContextRule:
    """One trigger: its literal text, what it asserts, and which way its scope reaches."""

    literal: str
    category: str
    direction: str


def read_tsv(name: str, columns: int) -> list[tuple[str, ...]]:
    """Rows of a data TSV (comments and blank lines skipped); raises ValueError on a bad row."""
    rows: list[tuple[str, ...]] = []
    for n, line in enumerate((DATA_DIR / name).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = tuple(p.strip() for p in line.split("\t"))
        if len(parts) != columns or not all(parts):
            raise ValueError(f"{name}:{n}: expected {columns} tab-separated fields")
        rows.append(parts)
    return rows


@cache
def context_rules() -> tuple[ContextRule, ...]:
    rules = []
    seen: set[str] = set()
    for pattern, category, direction in read_tsv("context_rules.tsv", 3):
        if category not in CATEGORIES or direction not in DIRECTIONS:
            raise ValueError(f"context rule {pattern!r}: bad category/direction {category}/{direction}")
        for literal in expand_pattern(pattern.lower()):
            if literal in seen:
                raise ValueError(f"context rule {literal!r} is defined twice")
            seen.add(literal)
            rules.append(ContextRule(literal, category, direction))
    return tuple(rules)


@cache
def abbreviations() -> dict[str, str]:
    """Short form (as written, case kept) → expansion."""
    return {short: long for short, long in read_tsv("abbreviations.tsv", 2)}


@cache
def extra_phrases() -> tuple[tuple[str, str], ...]:
    """(phrase, expansion) for every phrase the patterns of phrases.tsv expand to, sorted."""
    out: set[tuple[str, str]] = set()
    for pattern, expansion in read_tsv("phrases.tsv", 2):
        out.update((p, expansion) for p in expand_pattern(pattern))
    return tuple(sorted(out))


@dataclass(frozen=True)
class AnchoredHead:
    """A bare word (`head`) that names `expansion` when one of `anchors` comes before it in its sentence."""

    head: str
    anchors: frozenset[str]
    expansion: str
    after: frozenset[str] = frozenset()  # place words that anchor it when they follow it in its phrase segment


def check_token(word: str, seen: Collection[str], what: str, extra: str = "") -> None:
    """A rule table's key: one lower-case token, defined once (`extra`: the table's own condition, named
    in the message when it fails)."""
    if " " in word or word != word.lower() or word in seen:
        raise ValueError(f"{what} {word!r}: one lower-case token, defined once{extra}")


@cache
def anchored_heads() -> dict[str, AnchoredHead]:
    """Head token (lower case) → its rule."""
    out: dict[str, AnchoredHead] = {}
    for head, anchors, expansion, after in read_tsv("anchored_heads.tsv", 4):
        check_token(head, out, "anchored head")
        out[head] = AnchoredHead(head, frozenset(a.strip() for a in anchors.split("|") if a.strip()), expansion,
                                 frozenset(a.strip() for a in after.split("|") if a.strip() and a.strip() != "-"))
    return out


WEAK_SIDE_VALUES = ("left", "right", "bilateral")


@cache
def weak_sides() -> dict[str, str]:
    """Word (lower case) → the side it gives a finding when nothing else in its segment does."""
    out: dict[str, str] = {}
    for word, side, _why in read_tsv("weak_sides.tsv", 3):
        extra = f", side one of {WEAK_SIDE_VALUES}"
        check_token(word, out, "weak side", extra)
        if side not in WEAK_SIDE_VALUES:
            raise ValueError(f"weak side {word!r}: one lower-case token, defined once{extra}")
        out[word] = side
    return out


@cache
def comparative_sides() -> frozenset[str]:
    """Comparative words that, right before a side word, make the finding bilateral ("greater on the right")."""
    return word_table("comparative_sides.tsv", "comparative side word")


def phrase_table(name: str, what: str, length: int | None = None) -> frozenset[tuple[str, ...]]:
    """The first column of a `phrase <TAB> why` table as lower-case token tuples, each defined once (of
    `length` tokens, where given)."""
    out: set[tuple[str, ...]] = set()
    for phrase, _why in read_tsv(name, 2):
        tokens = tuple(phrase.split())
        if phrase != phrase.lower() or tokens in out or (length is not None and len(tokens) != length):
            count = "lower-case tokens" if length is None else f"{length} lower-case tokens"
            raise ValueError(f"{what} {phrase!r}: {count}, defined once")
        out.add(tokens)
    return frozenset(out)


@cache
def purpose_links() -> frozenset[tuple[str, ...]]:
    """Two-token links ("to suggest") that keep the finding after a negated list inside its negation."""
    return phrase_table("purpose_links.tsv", "purpose link", length=2)


@cache
def interpretive_links() -> frozenset[tuple[str, ...]]:
    """Link phrases (lower-case token tuples) after which a finding takes the side of the description before them."""
    return phrase_table("interpretive_links.tsv", "interpretive link")


def side_targets(name: str, what: str) -> dict[str, frozenset[str]]:
    """A `token, target sites (a|b), why` table: token → the finding sites its side reaches."""
    out: dict[str, frozenset[str]] = {}
    for token, targets, _why in read_tsv(name, 3):
        check_token(token, out, what)
        out[token] = frozenset(targets.split("|"))
    return out


@cache
def side_bridges() -> dict[str, frozenset[str]]:
    """Anatomy site → the target finding sites its side reaches (side_bridges.tsv)."""
    return side_targets("side_bridges.tsv", "side bridge")


@cache
def device_sides() -> dict[str, frozenset[str]]:
    """Device code → the finding codes its placement causes on its own side (device_sides.tsv)."""
    return side_targets("device_sides.tsv", "device side")


@cache
def surgical_sides() -> dict[str, frozenset[str]]:
    """Procedure word → the sites of the findings its side reaches (surgical_sides.tsv)."""
    return side_targets("surgical_sides.tsv", "surgical side word")


@cache
def unsided_findings() -> frozenset[str]:
    """Finding codes that never inherit a side (unsided_findings.tsv)."""
    return word_table("unsided_findings.tsv", "unsided finding")


@cache
def weak_side_pairs() -> dict[tuple[str, str], str]:
    """Two-token anatomy names (lower case) → the side they give a finding when nothing else in its segment does."""
    out: dict[tuple[str, str], str] = {}
    for first, second, side, _why in read_tsv("weak_side_pairs.tsv", 4):
        check_token(first, (), "weak side pair")
        check_token(second, (), "weak side pair")
        if (first, second) in out or side not in WEAK_SIDE_VALUES:
            raise ValueError(f"weak side pair {first!r} {second!r}: defined once, side one of {WEAK_SIDE_VALUES}")
        out[(first, second)] = side
    return out


@cache
def sideless_findings() -> frozenset[str]:
    """Finding codes that never have a side, not even from their own phrase (sideless_findings.tsv)."""
    return word_table("sideless_findings.tsv", "sideless finding")


def word_table(name: str, what: str) -> frozenset[str]:
    """The first column of a `word <TAB> why` table: one lower-case token a row, each defined once."""
    words: set[str] = set()
    for word, _why in read_tsv(name, 2):
        check_token(word, words, what)
        words.add(word)
    return frozenset(words)


@cache
def back_joins() -> frozenset[str]:
    """Words allowed between two coordinated findings for a side after the second to reach the first."""
    return word_table("back_joins.tsv", "back join")


@cache
def link_skip() -> frozenset[str]:
    """Words allowed between an interpretive link and the finding it names."""
    return word_table("link_skip.tsv", "link skip word")


@cache
def dotted_side_modifiers() -> frozenset[str]:
    """Words after which a dotted side abbreviation is a pre-modifier and never ends its sentence ("small Rt.")."""
    return word_table("dotted_side_modifiers.tsv", "dotted side modifier word")


@cache
def each_side() -> frozenset[tuple[str, ...]]:
    """Two-token phrases (lower case) that put a finding on both sides."""
    return phrase_table("each_side.tsv", "each-side phrase", length=2)


@cache
def scope_restarts() -> frozenset[str]:
    """Side/region words that end a negation's scope when they open a noun phrase right after a negated finding."""
    words: list[str] = []
    for word, _why in read_tsv("scope_restarts.tsv", 2):
        check_token(word, words, "scope restart")
        words.append(word)
    return frozenset(words)


@dataclass(frozen=True)
class GuardedHead:
    """A finding word (`head`, naming `expansion`) that is dropped when the nearest cue beside it is a blocker."""

    head: str
    expansion: str
    blockers: frozenset[str]
    blocker_patterns: tuple[re.Pattern[str], ...]
    releases: frozenset[str]

    def cue(self, token: str) -> str | None:
        """The cue one lower-case token gives: "block", "release" or None."""
        if token in self.releases:
            return "release"
        if token in self.blockers or any(p.fullmatch(token) for p in self.blocker_patterns):
            return "block"
        return None


@cache
def guard_reroutes() -> dict[tuple[str, str], str]:
    """(guarded head, one of its blockers) → the expansion the head names when that blocker is its nearest cue."""
    heads = guarded_heads()
    out: dict[tuple[str, str], str] = {}
    for head, words, expansion in read_tsv("guard_reroutes.tsv", 3):
        if head not in heads:
            raise ValueError(f"guard_reroutes.tsv: {head!r} is no head of guarded_heads.tsv")
        for word in (w.strip() for w in words.split("|") if w.strip()):
            if word not in heads[head].blockers:
                raise ValueError(f"guard_reroutes.tsv: {word!r} is no blocker of {head!r}")
            if (head, word) in out:
                raise ValueError(f"guard_reroutes.tsv: duplicate {head!r} {word!r}")
            out[head, word] = expansion
    return out


@cache
def guarded_heads() -> dict[str, GuardedHead]:
    """Head token (lower case) → its rule."""
    out: dict[str, GuardedHead] = {}
    for head, expansion, blockers, releases in read_tsv("guarded_heads.tsv", 4):
        check_token(head, out, "guarded head")
        words = [w.strip() for w in blockers.split("|") if w.strip()]
        out[head] = GuardedHead(head, expansion, frozenset(w for w in words if not w.startswith("re:")),
                                tuple(re.compile(w[3:]) for w in words if w.startswith("re:")),
                                frozenset(w.strip() for w in releases.split("|") if w.strip()))
    return out


def expand_pattern(pattern: str) -> list[str]:
    """All phrases a pattern denotes: `(a|b)` picks one, `[a|b]` picks one or nothing."""
    pieces: list[list[str]] = []
    pos = 0
    for m in _GROUP.finditer(pattern):
        pieces.append([pattern[pos : m.start()]])
        if m.group(2) is not None:
            pieces.append(m.group(2).split("|"))
        else:
            pieces.append(["", *m.group(3).split("|")])
        pos = m.end()
    pieces.append([pattern[pos:]])
    phrases = {" ".join("".join(choice).split()) for choice in itertools.product(*pieces)}
    return sorted(p for p in phrases if p)
