"""Which Ray the work before a run's waves uses (the pre-scan, TCIA header reads, the near-duplicate pair
join all run during planning): the run's own (`--address`, `ray.address`, `ray.num_cpus`, the object
store cap, PYTHONHASHSEED), started at the first such use, never a default Ray that `ray.data` or a
`.remote()` call would start by itself, which the waves would then reuse, config ignored.

`run_pipeline` sets the launcher for its planning; code that plans without it (tests, `build_plan`
alone) gets Ray's own default start, as before."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

_launcher: list[Callable[[], object]] = []


@contextlib.contextmanager
def launcher(start: Callable[[], object]) -> Iterator[None]:
    """Within the block, `ensure_ray()` starts Ray with `start` (once, if it is not running yet)."""
    _launcher.append(start)
    try:
        yield
    finally:
        _launcher.pop()


def ensure_ray() -> None:
    """Call before planning work goes to Ray."""
    import ray

    if _launcher and not ray.is_initialized():
        _launcher[-1]()


def map_blocks(fn: Callable[..., pa.Table], table: pa.Table, rows: int, num_cpus: float,
               **kwargs: Any) -> list[dict[str, Any]]:
    """`fn(block, **kwargs)` (an Arrow table in, an Arrow table out) over `table` in slices of `rows`, as
    plain Ray tasks of `num_cpus` each on the run's Ray; the rows of every result, in `table`'s order."""
    import ray

    ensure_ray()
    task = ray.remote(num_cpus=num_cpus)(fn)
    refs = [task.remote(table.slice(i, rows), **kwargs) for i in range(0, table.num_rows, rows)]
    return [r for t in ray.get(refs) for r in t.to_pylist()]
