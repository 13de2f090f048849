"""The small error taxonomy every layer uses (config error, bad input, retryable, fatal).

Lives in `schemas` because it is the one package every other package may import.
"""

from __future__ import annotations


class MedgroundError(Exception):
    """Base of every error medground raises on purpose."""


class ConfigError(MedgroundError):
    """Bad configuration: raised before any work starts. Names the key and the allowed values."""

    def __init__(self, key: str, message: str, allowed: list[str] | tuple[str, ...] | None = None) -> None:
        self.key = key
        self.allowed = list(allowed) if allowed is not None else None
        text = f"{key}: {message}"
        if self.allowed:
            text += f" (allowed: {', '.join(self.allowed)})"
        super().__init__(text)


class BadInput(MedgroundError):
    """One input (file, row, report, annotation) cannot go on: it is quarantined, the run goes on.

    `kind` is one of schemas.tables.ERROR_KINDS; `unit` one of QUARANTINE_UNITS. The message must
    never contain a DICOM header value or other PHI: describe the problem, not the data.
    """

    def __init__(self, kind: str, message: str, unit: str = "image", ref: str | None = None) -> None:
        self.kind = kind
        self.unit = unit
        self.ref = ref
        super().__init__(message)


class RetryableError(MedgroundError):
    """A named transient failure (I/O hiccup, HTTP 429/5xx): retried a bounded number of times."""


class FatalError(MedgroundError):
    """The run cannot go on (disk full, permission denied, broken installation)."""
