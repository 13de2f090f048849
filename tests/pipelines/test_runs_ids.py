"""Run ids sort in start order, also for runs started within the same second."""

from __future__ import annotations

import time

from pipelines.runs import new_run_id


def test_run_ids_sort_in_start_order_within_one_second() -> None:
    ids = []
    for _ in range(50):  # 1 ms apart: all within a second or two, as back-to-back runs of a test are
        ids.append(new_run_id())
        time.sleep(0.001)
    assert ids == sorted(ids) and len(set(ids)) == 50
