"""A rule-based sentence splitter for radiology reports (no model): spaCy component
`medground_report_sentencizer`.

A sentence starts at the first token, after ".", "!" or "?", at every section start (so a header with
no full stop before it still ends the previous sentence), at a blank line, and at a line break when
the previous line ended with punctuation or the next line starts like a new item (capital, digit,
bullet). Hard-wrapped lines that continue in lower case stay one sentence. The sections are stored in
`doc._.sections`.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from extractors.reports.rules import dotted_side_modifiers
from extractors.reports.sections import split_sections

_ENDERS = frozenset({".", "!", "?"})
_BULLETS = frozenset({"-", "*", "•", "o"})

if not Doc.has_extension("sections"):
    Doc.set_extension("sections", default=None)


@Language.component("medground_report_sentencizer")
def mark_sentences(doc: Doc) -> Doc:
    text = doc.text
    sections = split_sections(text)
    doc._.sections = sections
    # a sentence starts at every header and at every section's content ("no pneumothorax IMPRESSION: ...")
    starts = sorted({s.start for s in sections} | {s.end for s in sections if s.end < len(text)})
    prev_word = ""
    prev_end = 0
    force = True
    for tok in doc:
        if tok.is_space:
            tok.is_sent_start = False
            if "\n" in tok.text:
                nxt = doc[tok.i + 1].text if tok.i + 1 < len(doc) else ""
                force = force or line_break_ends_sentence(tok.text, prev_word, nxt)
            continue
        while starts and starts[0] < prev_end:
            starts.pop(0)
        if starts and starts[0] <= tok.idx:
            force = True
            starts.pop(0)
        tok.is_sent_start = force
        force = tok.text in _ENDERS or ends_dotted(doc, tok.i)
        if "\n" in tok.whitespace_:
            force = force or line_break_ends_sentence(tok.whitespace_, tok.text, "")
        prev_word = tok.text
        prev_end = tok.idx + len(tok.text)
    return doc


DOTTED_ENDS = frozenset({"lt.", "rt."})  # one-token side abbreviations with their stop (extractor.build_pipeline)


def ends_dotted(doc: Doc, i: int) -> bool:
    """Whether token i is a dotted side abbreviation ending its sentence: "effusion on the rt. No pneumothorax"
    (a capital or a digit follows, or nothing); never "small lt. effusion", nor a pre-modifier before a capital: one
    opening its sentence ("Lt. Pleural effusion") or after a word of dotted_side_modifiers.tsv ("small Rt. Pleural")."""
    if doc[i].lower_ not in DOTTED_ENDS:
        return False
    prev = next((t for t in reversed(doc[:i]) if not t.is_space), None)
    if doc[i].is_sent_start or prev is None or prev.lower_ in dotted_side_modifiers():
        return False  # (the sentencizer has set token i's own start before asking)
    nxt = next((t for t in doc[i + 1 :] if not t.is_space), None)
    return nxt is None or nxt.text[0].isupper() or nxt.text[0].isdigit()


def line_break_ends_sentence(space: str, prev_word: str, next_word: str) -> bool:
    if space.count("\n") >= 2 or not prev_word:
        return True
    if prev_word[-1] in ".:!?;":
        return True
    return bool(next_word) and (next_word[0].isupper() or next_word[0].isdigit() or next_word in _BULLETS)
