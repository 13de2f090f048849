"""Live progress of a run: counters in a tiny Ray actor, polled by the driver and shown as it runs.

Stage wrappers and shard writers (pipelines/ray_exec.py) carry a `Reporter` and report each finished
batch / shard to a `CounterHost` actor (num_cpus=0, fire-and-forget `.remote()` calls: ~0.2 ms per
batch), which keeps one `ProgressCounter` per run. The host is started once per Ray session and reused
by every later run of this driver: a new actor is a new worker process (≈ 0.4–0.55 s of CPU to start,
measured on the 2-core box: 3–4% of an n=600 ingest run there), so a driver that runs many corpora
(the benchmarks, a notebook, a nightly service) pays it once. A batch reported twice in a wave (its
task re-ran after a worker died) is counted once. The
driver's `ProgressTracker` polls the counters from a thread while a wave runs (never blocking the wave
on the actor), writes the events to the run log and updates a view: rich bars on a terminal, a plain
line every few seconds otherwise (CI logs).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from pipelines.runlog import RunLog
from pipelines.stage import BatchStats

STAGE_FIELDS = ("rows", "quarantined", "retries", "gave_up", "seconds")
SHARD_FIELDS = ("shards", "samples", "written", "quarantined")


class ProgressCounter:
    """Run-wide counters (the body of the Ray actor). Plain Python: testable without Ray."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self.shards: dict[str, int] = dict.fromkeys(SHARD_FIELDS, 0)
        self.rerun_batches = 0
        self.seen: dict[int, set[tuple[str, str]]] = {}  # wave -> (stage, batch key) and ("shard", name)
        self.events: list[dict[str, Any]] = []

    def _first(self, wave: int, key: tuple[str, str]) -> bool:
        seen = self.seen.setdefault(wave, set())
        if key in seen:
            return False
        seen.add(key)
        return True

    def report_batch(self, wave: int, stage: str, key: str, stats: dict[str, Any]) -> None:
        if not self._first(wave, (stage, key)):  # the same batch again: its task re-ran (a worker died)
            self.rerun_batches += 1
            return
        agg = self.stages.setdefault(stage, dict.fromkeys(STAGE_FIELDS, 0))
        for k in STAGE_FIELDS:
            agg[k] += stats[k]
        if stats["retries"] or stats["gave_up"]:
            self.events.append({"event": "retries", "stage": stage, "retries": stats["retries"],
                                "gave_up": stats["gave_up"], "errors": stats["errors"], "shards": stats["shards"]})

    def report_batches(self, wave: int, key: str, stages: list[tuple[str, dict[str, Any]]]) -> None:
        """One batch through several stages (a fused chain): one actor call instead of one per stage."""
        for stage, stats in stages:
            self.report_batch(wave, stage, key, stats)

    def report_shard(self, wave: int, stats: dict[str, Any]) -> None:
        if not self._first(wave, ("shard", stats["shard"])):
            return
        self.shards["shards"] += 1
        for k in SHARD_FIELDS[1:]:
            self.shards[k] += stats[k]
        self.events.append({"event": "shard_written", **{k: stats[k] for k in ("shard", *SHARD_FIELDS[1:])}})

    def forget(self, wave: int) -> None:
        """A wave is over and all its reports are in: its batch keys can go (bounded memory)."""
        self.seen.pop(wave, None)

    def snapshot(self) -> dict[str, Any]:
        """The totals so far, and the events since the last snapshot (drained)."""
        events, self.events = self.events, []
        return {"stages": {k: dict(v) for k, v in self.stages.items()}, "shards": dict(self.shards),
                "rerun_batches": self.rerun_batches, "events": events}


class CounterHost:
    """The body of the session's counter actor: one `ProgressCounter` per run, created by its first call."""

    def __init__(self) -> None:
        self.runs: dict[str, ProgressCounter] = {}

    def ping(self) -> bool:
        return True

    def report_batches(self, run: str, wave: int, key: str, stages: list[tuple[str, dict[str, Any]]]) -> None:
        self.runs.setdefault(run, ProgressCounter()).report_batches(wave, key, stages)

    def report_shard(self, run: str, wave: int, stats: dict[str, Any]) -> None:
        self.runs.setdefault(run, ProgressCounter()).report_shard(wave, stats)

    def forget(self, run: str, wave: int) -> None:
        if run in self.runs:
            self.runs[run].forget(wave)

    def snapshot(self, run: str) -> dict[str, Any]:
        return self.runs.setdefault(run, ProgressCounter()).snapshot()

    def close(self, run: str) -> None:
        self.runs.pop(run, None)


_hosts: dict[str, Any] = {}  # GCS address/job id (one per ray.init of this driver) -> its CounterHost actor
PING_TIMEOUT_S = 2.0
DELIVERY_TIMEOUT_S = 30.0  # a call waits at most this long for its progress reports to arrive


def counter_host() -> Any:
    """The counter actor of this driver's Ray session: the one already started if it still answers,
    else a new one (num_cpus=0, on the driver's node when it can be)."""
    rt = ray.get_runtime_context()
    job = f"{rt.gcs_address}/{rt.get_job_id()}"  # job ids repeat across clusters (01000000)
    host = _hosts.get(job)
    if host is not None:
        try:  # submitting to an actor Ray no longer knows raises at once (a plain Exception)
            ready, _ = ray.wait([host.ping.remote()], timeout=PING_TIMEOUT_S)
            if not ready:
                return host  # no answer yet: still starting, or busy, not dead (a dead actor's call fails at once)
            ray.get(ready[0])
            return host
        except Exception:  # it died (killed, its node or cluster went): start another
            pass
    here = NodeAffinitySchedulingStrategy(node_id=rt.get_node_id(), soft=True)
    host = ray.remote(num_cpus=0, max_restarts=0)(CounterHost).options(
        name=f"medground-progress-{uuid.uuid4().hex[:8]}", scheduling_strategy=here).remote()
    _hosts.clear()  # an older session's handle is useless after ray.shutdown()
    _hosts[job] = host
    return host


@dataclass(frozen=True)
class Reporter:
    """What the Ray wrappers carry (pickled into each task): the counter actor, the run and its wave."""

    actor: Any
    run: str
    wave: int

    def batches(self, key: str, stages: list[tuple[str, BatchStats]]) -> Any:
        """One chunk through a fused chain's stages, in one call not waited for (its ref: `delivered`)."""
        return self.actor.report_batches.remote(self.run, self.wave, key, [(s, asdict(st)) for s, st in stages])

    def shard(self, stats: dict[str, Any]) -> Any:
        return self.actor.report_shard.remote(self.run, self.wave,
                                              {k: stats[k] for k in ("shard", *SHARD_FIELDS[1:])})

    def delivered(self, refs: list[Any], timeout_s: float = DELIVERY_TIMEOUT_S) -> None:
        """Wait until these reports have reached the counter actor. A report still queued in a worker that
        is killed during its *next* call was lost, and the call that sent it is not re-run (it succeeded):
        a row was then never counted. So a task or actor call returns only once its reports are in (a dead
        counter's refs are ready at once, as errors: progress stays best effort)."""
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=timeout_s)


class ProgressView(Protocol):
    def start(self, stages: list[str], planned_rows: int, planned_shards: int) -> None: ...

    def update(self, snap: dict[str, Any], elapsed_s: float) -> None: ...

    def stop(self) -> None: ...


class ProgressTracker:
    """Driver side: owns the counter actor, polls it from a thread, feeds the view and the run log."""

    def __init__(self, stages: list[str], planned_rows: int, planned_shards: int, *,
                 view: ProgressView | None = None, runlog: RunLog | None = None, interval_s: float = 0.5) -> None:
        self.stages, self.planned_rows, self.planned_shards = stages, planned_rows, planned_shards
        self.view, self.runlog, self.interval_s = view, runlog or RunLog(None), interval_s
        self.actor = counter_host()
        self.run = uuid.uuid4().hex  # this run's counters in the session's host
        self.latest: dict[str, Any] = {"stages": {}, "shards": dict.fromkeys(SHARD_FIELDS, 0), "rerun_batches": 0}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="medground-progress", daemon=True)
        self._t0 = time.monotonic()
        self.lost = False
        self.logged_shards: set[str] = set()
        self._pending: Any = None  # a snapshot call that has not answered yet

    def start(self) -> ProgressTracker:
        if self.view is not None:
            self.view.start(self.stages, self.planned_rows, self.planned_shards)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> dict[str, Any]:
        with self._lock:
            if self.lost:
                return self.latest
            ref = self._pending or self.actor.snapshot.remote(self.run)
            try:
                snap = ray.get(ref, timeout=5)
            except ray.exceptions.GetTimeoutError:  # the actor is still starting (a busy cluster): next time
                self._pending = ref  # its answer drains events: wait for it rather than ask again
                return self.latest
            except ray.exceptions.RayError:
                self.lost = True  # the actor died: progress is best effort, the run goes on without it
                self.runlog.event("progress_lost")
                return self.latest
            self._pending = None
            for ev in snap.pop("events"):
                if ev["event"] == "shard_written":
                    self.logged_shards.add(ev["shard"])
                self.runlog.event(ev.pop("event"), **ev)
            self.latest = snap
            if self.view is not None:
                self.view.update(snap, self.elapsed_s())
            return snap

    def elapsed_s(self) -> float:
        return time.monotonic() - self._t0

    def reporter(self, wave: int) -> Reporter:
        return Reporter(self.actor, self.run, wave)

    def end_wave(self, wave: int) -> None:
        if not self.lost:
            self.actor.forget.remote(self.run, wave)

    def settle(self, rows: int, shards: int, timeout_s: float = 30.0) -> None:
        """Wait until the reports of a finished wave have all arrived (they are fire-and-forget)."""
        deadline = time.monotonic() + timeout_s
        while True:
            snap = self.poll()
            stage_rows = [snap["stages"].get(s, {}).get("rows", 0) for s in self.stages]
            if self.lost or (min(stage_rows, default=rows) >= rows and snap["shards"]["shards"] >= shards):
                return
            if time.monotonic() > deadline:
                self.runlog.event("progress_incomplete", rows=stage_rows, shards=snap["shards"]["shards"])
                return
            time.sleep(0.02)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        snap = self.poll()
        if self.view is not None:
            self.view.stop()
        if not self.lost:
            self.actor.close.remote(self.run)  # the host stays for the session's next run
        return snap


def summarize(snap: dict[str, Any], stages: list[str], seconds: float) -> dict[str, Any]:
    """The run summary: per stage rows in / quarantined / busy seconds / rows per busy second; totals."""
    rows = []
    for name in stages:
        s = snap["stages"].get(name) or dict.fromkeys(STAGE_FIELDS, 0)
        rows.append({"stage": name, "rows": int(s["rows"]), "quarantined": int(s["quarantined"]),
                     "retries": int(s["retries"]), "gave_up": int(s["gave_up"]), "busy_s": round(s["seconds"], 3),
                     "rows_per_s": round(s["rows"] / s["seconds"], 2) if s["seconds"] else None})
    return {"stages": rows, **{k: int(v) for k, v in snap["shards"].items()},
            "retries": sum(r["retries"] for r in rows), "rerun_batches": int(snap.get("rerun_batches", 0)),
            "waves_s": round(seconds, 3)}


def progress_line(snap: dict[str, Any], stages: list[str], planned_rows: int, planned_shards: int,
                  elapsed_s: float) -> str:
    parts = []
    for name in stages:
        done = int((snap["stages"].get(name) or {}).get("rows", 0))
        parts.append(f"{name} {done}/{planned_rows} ({done / max(elapsed_s, 1e-9):.1f}/s)")
    parts.append(f"shards {snap['shards']['shards']}/{planned_shards}")
    return f"[{elapsed_s:5.0f}s] " + " | ".join(parts)


class PlainProgressView:
    """Not a terminal: one line every `every_s` seconds while counts change, and a last one at the end."""

    def __init__(self, write: Callable[[str], None], every_s: float = 5.0) -> None:
        self.write, self.every_s = write, every_s
        self._last_t = float("-inf")
        self._last_line = ""
        self._pending = ""

    def start(self, stages: list[str], planned_rows: int, planned_shards: int) -> None:
        self.stages, self.planned_rows, self.planned_shards = stages, planned_rows, planned_shards

    def update(self, snap: dict[str, Any], elapsed_s: float) -> None:
        line = progress_line(snap, self.stages, self.planned_rows, self.planned_shards, elapsed_s)
        counts = line.split("] ", 1)[1]
        if counts == self._last_line.split("] ", 1)[-1]:
            return
        self._pending = line
        if elapsed_s - self._last_t >= self.every_s:
            self._emit()
            self._last_t = elapsed_s

    def _emit(self) -> None:
        self.write(self._pending)
        self._last_line, self._pending = self._pending, ""

    def stop(self) -> None:
        if self._pending:
            self._emit()


class RichProgressView:
    """A terminal: one rich bar per stage (rows done / planned, rows/s) and one for shards written."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console)
        self.tasks: dict[str, Any] = {}

    def start(self, stages: list[str], planned_rows: int, planned_shards: int) -> None:
        for name in stages:
            self.tasks[name] = self.progress.add_task(name, total=planned_rows, rate="")
        self.tasks[""] = self.progress.add_task("shards written", total=planned_shards, rate="")
        self.progress.start()

    def update(self, snap: dict[str, Any], elapsed_s: float) -> None:
        for name, task in self.tasks.items():
            done = snap["shards"]["shards"] if not name else int((snap["stages"].get(name) or {}).get("rows", 0))
            rate = f"{done / max(elapsed_s, 1e-9):6.1f} {'shards' if not name else 'rows'}/s"
            self.progress.update(task, completed=done, rate=rate)

    def stop(self) -> None:
        self.progress.refresh()
        self.progress.stop()


def make_view(console: Any, every_s: float = 5.0) -> ProgressView:
    """Rich bars on a terminal, plain periodic lines otherwise (`console`: a rich Console)."""
    if console.is_terminal:
        return RichProgressView(console)
    return PlainProgressView(lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True), every_s)


def summary_table(summary: dict[str, Any]) -> Any:
    """The run summary as a rich Table: one row per stage, then the totals in the caption."""
    from rich.table import Column, Table

    table = Table(Column("stage", no_wrap=True), "rows in", "quarantined", "retries", "busy s", "rows/busy s",
                  title="run summary", title_justify="left")
    for st in summary["stages"]:
        rate = "" if st["rows_per_s"] is None else f"{st['rows_per_s']:.1f}"
        table.add_row(st["stage"], str(st["rows"]), str(st["quarantined"]), str(st["retries"]),
                      f"{st['busy_s']:.2f}", rate)
    table.caption = (f"{summary['samples']} samples = {summary['written']} written + {summary['quarantined']} "
                     f"quarantined in {summary['shards']} shard(s); {summary['retries']} retries, "
                     f"{summary['rerun_batches']} batch(es) re-run; elapsed {summary.get('elapsed_s', 0):.1f} s")
    table.caption_justify = "left"
    return table
