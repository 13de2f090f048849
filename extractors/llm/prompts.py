"""Versioned prompt templates, shipped as data files: `extractors/llm/prompts/<name>-v<version>.json`.

A template has a system and a user message (`string.Template` placeholders: `$text`, ...) and the
sampling settings it was written for. A changed prompt is a new file with a new version, never an
edit in place: the version goes into every row and into the cache key, and the template's own hash
is checked into the request body, so an edited file can never be served answers cached for the old one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from schemas.errors import ConfigError

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    system: str
    user: str
    sampling: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """`findings-v1`: what rows and cache keys record."""
        return f"{self.name}-v{self.version}"

    @property
    def sha256(self) -> str:
        text = json.dumps([self.system, self.user, self.sampling], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def messages(self, **values: str) -> list[dict[str, str]]:
        """System + user messages with every placeholder filled (a missing one is a KeyError)."""
        return [
            {"role": "system", "content": Template(self.system).substitute(values)},
            {"role": "user", "content": Template(self.user).substitute(values)},
        ]


def available_prompts() -> list[str]:
    return sorted(p.stem for p in PROMPT_DIR.glob("*-v*.json"))


@cache
def load_prompt(name: str, version: str) -> PromptTemplate:
    """The shipped template `<name>-v<version>`; ConfigError listing the known ones if absent."""
    path = PROMPT_DIR / f"{name}-v{version}.json"
    if not path.is_file():
        raise ConfigError("prompt_version", f"no prompt template {name}-v{version}", allowed=available_prompts())
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("name") != name or str(data.get("version")) != version:
        raise ConfigError("prompt_version", f"{path.name}: name/version inside the file do not match its name")
    return PromptTemplate(name, version, data["system"], data["user"], dict(data.get("sampling") or {}))
