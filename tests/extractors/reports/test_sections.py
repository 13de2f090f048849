from __future__ import annotations

from extractors.reports.sections import canonical_header, section_at, split_sections


def test_headers_and_offsets_index_the_text() -> None:
    text = "INDICATION: cough.\nFINDINGS: No effusion.\nIMPRESSION: Normal."
    secs = split_sections(text)
    assert [s.name for s in secs] == ["indication", "findings", "impression"]
    assert [text[s.start : s.end].strip() for s in secs] == ["cough.", "No effusion.", "Normal."]


def test_misspellings_and_variants() -> None:
    assert canonical_header("IMPRESION") == "impression"
    assert canonical_header("Findngs") == "findings"
    assert canonical_header("COMPARISION") == "comparison"
    assert canonical_header("Reason for exam") == "indication"
    assert canonical_header("Clinical history") == "history"
    assert canonical_header("LUNGS") is None  # organ-system template headers are content


def test_mid_line_capital_header_and_unknown_header_stays_content() -> None:
    text = "HISTORY: r/o pneumonia FINDINGS: Lungs clear. HEART: normal size."
    secs = split_sections(text)
    assert [s.name for s in secs] == ["history", "findings"]
    assert section_at(secs, text.index("normal size")) == "findings"


def test_no_header_is_unsectioned_and_preamble_kept() -> None:
    assert [s.name for s in split_sections("No effusion.")] == ["unsectioned"]
    secs = split_sections("Chest two views.\nIMPRESSION: clear")
    assert [s.name for s in secs] == ["unsectioned", "impression"]
    assert split_sections("   ") == []
