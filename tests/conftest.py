"""Shared fixtures: the real dataset excerpts beside the checkout, and a session-wide local Ray."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """`../shared/datasets` (real public excerpts); tests using it skip where it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip("../shared/datasets is not beside this checkout")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray for the whole session, with fractional-CPU stages on 2 cores."""
    pytest.importorskip("ray")
    import ray
    import ray.data

    ray.init(address="local", num_cpus=2, object_store_memory=400 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONHASHSEED": "0"}})
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()
