"""Fixtures for qc tests: corpora written by tests/qc/corpus_factory.py (no pipeline needed)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


def load_factory() -> ModuleType:
    name = "qc_corpus_factory"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("corpus_factory.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


factory = load_factory()


@pytest.fixture
def make_corpus(tmp_path: Path) -> Callable[..., Path]:
    """make_corpus(**knobs) -> corpus dir; knobs are CorpusKnobs fields."""
    counter = iter(range(1000))

    def make(**knobs: object) -> Path:
        return factory.write_corpus(tmp_path / f"c{next(counter)}", factory.CorpusKnobs(**knobs))

    return make


@pytest.fixture
def corpus(make_corpus: Callable[..., Path]) -> Path:
    return make_corpus()
