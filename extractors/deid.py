"""De-identification: salted identifiers, the DICOM header allow-list, free-text report scrubbing.

- `salted_hash`: HMAC-SHA256 of an identifier under the run's salt (patient/study ids in outputs).
- `DICOM_ALLOWLIST` / `allowlisted_meta`: the only header values that may reach an output. It is an
  allow-list, not a block-list: a header keyword not named here never leaves the reader. Free-text
  attributes (descriptions, protocol names, institution) and quasi-identifiers (age, sex, dates) are
  left out on purpose.
- `scrub_text`: masks dates, times, phone/fax numbers, e-mails, record/accession numbers, long digit
  runs, ages over 89 and titled or signed person names in report text with the MIMIC placeholder
  `___` (MIMIC's own `___` placeholders are kept as they are). A rule-based safety net for
  already de-identified corpora, not a certified de-identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

PLACEHOLDER = "___"

DICOM_ALLOWLIST: tuple[str, ...] = (
    "Modality",
    "SOPClassUID",  # the class (e.g. CR Image Storage), never the instance UID
    "BodyPartExamined",
    "ViewPosition",
    "ImageLaterality",
    "Laterality",
    "PatientOrientation",
    "PatientPosition",
    "PresentationIntentType",
    "ImageType",
    "ConversionType",
    "BurnedInAnnotation",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SamplesPerPixel",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ImageOrientationPatient",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "LossyImageCompression",
    "LossyImageCompressionMethod",
    "KVP",
    "ConvolutionKernel",
    "MagneticFieldStrength",
    "RepetitionTime",
    "EchoTime",
)


def salted_hash(value: str, salt: str, length: int = 16) -> str:
    """Hex prefix of HMAC-SHA256(salt, value): stable within a run's salt, not reversible without it."""
    if not 1 <= length <= 64:
        raise ValueError("length must be between 1 and 64")
    digest = hmac.new(salt.encode("utf-8"), str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:length]


def allowlisted_meta(ds: Any) -> dict[str, Any]:
    """The allow-listed header values of a pydicom Dataset as JSON-ready Python values, sorted by keyword."""
    out: dict[str, Any] = {}
    for keyword in sorted(DICOM_ALLOWLIST):
        elem = ds.get(keyword) if hasattr(ds, "get") else None
        if elem is None or elem == "":
            continue
        value = _plain(elem)
        if value is not None:
            out[keyword] = value
    return out


def _plain(value: Any) -> Any:
    """pydicom values (MultiValue, DSfloat, IS, UID) → str / int / float / list of those."""
    if isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, str):  # UID and plain strings (checked before the numeric types)
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    try:
        items = list(value)
    except TypeError:
        return str(value)
    plain = [_plain(v) for v in items]
    return [v for v in plain if v is not None]


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
# Capitalised or upper-case month names (so the verb "may" and the noun "march" stay), full or abbreviated.
_MONTH = "(?:" + "|".join(
    f"{m[:3]}(?:{m[3:]})?\\.?|{m[:3].upper()}(?:{m[3:].upper()})?\\.?" for m in _MONTHS
) + "|Sept\\.?|SEPT\\.?)"
_NAME = r"[A-Z][a-zA-Z'\-]+"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (repl, re.compile(p, flags))
    for repl, p, flags in (
        (PLACEHOLDER, r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b", re.I),  # e-mail
        # labelled identifiers: MRN, accession, patient id, record number, SSN
        (r"\1 " + PLACEHOLDER, r"\b(MRN|MR#|medical record(?: number| no\.?)?|accession(?: number| no\.?)?|"
                               r"acc(?:ession)?#|patient id|unit no\.?|SSN)\s*[:#]?\s*[A-Z0-9][A-Z0-9-]{2,}\b", re.I),
        (PLACEHOLDER, r"\b\d{3}-\d{2}-\d{4}\b", 0),  # SSN-shaped
        # phone / fax / pager numbers
        (PLACEHOLDER, r"(?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b(?:\s*(?:x|ext\.?)\s*\d{1,5})?", re.I),
        (r"\1 " + PLACEHOLDER, r"\b(pager|beeper|tel\.?|phone|fax)\s*[:#]?\s*\d[\d\s.-]{3,}\d\b", re.I),
        # dates
        (PLACEHOLDER, r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b", 0),
        (PLACEHOLDER, r"\b\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})\b", 0),
        (PLACEHOLDER, rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b", 0),
        (PLACEHOLDER, rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}(?:,?\s+\d{{4}})?\b", 0),
        (PLACEHOLDER, rf"\b{_MONTH}\s+\d{{4}}\b", 0),
        # times
        (PLACEHOLDER, r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?\b)?", re.I),
        (PLACEHOLDER, r"\b\d{1,2}\s*[ap]\.m\.|\b\d{1,2}\s*[ap]m\b", re.I),
        (PLACEHOLDER + r" \1", r"\b(?:[01]\d|2[0-3])[0-5]\d\s*(hours|hrs|h)\b", re.I),
        # ages over 89 (HIPAA)
        (PLACEHOLDER + r"\1", r"\b(?:9\d|1[0-4]\d)(\s*-?\s*(?:year|yr|y/?o))", re.I),
        # names: titles, signatures, sign-off lines
        (r"\1 " + PLACEHOLDER, rf"\b(Drs?\.?|Doctor|Mr\.|Mrs\.|Ms\.|Prof\.)\s+(?:{_NAME}\.?\s+)?{_NAME}\b", 0),
        (PLACEHOLDER + r"\1", rf"\b{_NAME}(?:\s+[A-Z]\.)?\s+{_NAME}(,?\s+(?:M\.D\.|MD|D\.O\.|DO|RN|NP|PA-C))\b", 0),
        (r"\1 " + PLACEHOLDER, rf"\b((?i:(?:electronically )?signed by|dictated by|read by|attending|"
                               rf"radiologist|reported by)\s*:?)\s*{_NAME}(?:\s+[A-Z]\.)?(?:\s+{_NAME})?", 0),
        # long digit runs and letter-prefixed record numbers (not decimals, not measurements)
        (PLACEHOLDER, r"(?<![\d.])\b[A-Z]{0,4}\d{6,}\b(?!\.\d)", 0),
    )
)


def scrub_text(text: str) -> str:
    """Mask PHI-like spans in free text with `___`; existing `___` placeholders are kept."""
    out = text
    for repl, pattern in _PATTERNS:
        out = pattern.sub(repl, out)
    return re.sub(r"_{3,}(?:\s*_{3,})+", PLACEHOLDER, out)
