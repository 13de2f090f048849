"""The on-disk answer cache: keyed by (model, prompt version, input hash), persistent, thread-safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from extractors.llm.cache import LlmResponseCache, input_hash


def test_keys_and_persistence(tmp_path: Path) -> None:
    cache = LlmResponseCache(tmp_path / "c")
    cache.put("m1", "findings-v1", "h1", '{"findings": []}')
    assert cache.get("m1", "findings-v1", "h1") == '{"findings": []}'
    assert cache.get("m2", "findings-v1", "h1") is None  # another model
    assert cache.get("m1", "findings-v2", "h1") is None  # another prompt version
    assert cache.get("m1", "findings-v1", "h2") is None  # another input
    assert (cache.hits, cache.misses) == (1, 3)
    cache.close()
    again = LlmResponseCache(tmp_path / "c")
    assert again.get("m1", "findings-v1", "h1") == '{"findings": []}' and len(again) == 1


def test_input_hash_covers_the_question_not_the_model() -> None:
    body = {"model": "a", "messages": [{"role": "user", "content": "x"}], "temperature": 0}
    assert input_hash(body) == input_hash({**body, "model": "b"})
    assert input_hash(body) != input_hash({**body, "messages": [{"role": "user", "content": "y"}]})
    assert input_hash(body) != input_hash({**body, "temperature": 0.5})
    assert len(input_hash(body)) == 64


def test_concurrent_writers(tmp_path: Path) -> None:
    cache = LlmResponseCache(tmp_path)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: cache.put("m", "p", f"k{i}", str(i)), range(40)))
    assert len(cache) == 40 and cache.get("m", "p", "k7") == "7"
