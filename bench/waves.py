"""Per-wave start-up of a chain with a stateful stage (a model in an actor): the same corpus run in
many small waves vs in one wave, in the same process and Ray session, printed as a ratio.

    python bench/waves.py [--n 256] [--size 256] [--shard-size 16] [--small-wave 2] [--repeat 2]

Chain: ingest.decode, then findings.rules (stateful: it builds its spaCy pipeline and phrase matcher
once per actor, in `setup()`), over the RSNA sample layout repeated to `n` DICOMs. Each repeat runs it
with `ray.shards_per_wave` = `small-wave` (many waves) and with every shard in one wave, into fresh
outputs. If the actors lived for one wave only, every wave would pay an actor start and the stage's
setup again: (many-waves wall - one-wave wall) / (waves - 1) is that cost per wave; ≈ 0 when the
run's actors are started once and kept across its waves. The written corpora are compared (same
shards, same Parquet bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.config import parse_config
from pipelines.run import run_pipeline
from pipelines.samples.rsna_pneumonia import CASES, write_rsna_sample


def config(root: Path, shard_size: int, per_wave: int) -> dict[str, Any]:
    return {"corpus": "waves", "salt": "bench", "shard_size": shard_size, "scan": {"enabled": False},
            "sources": [{"name": "sources.rsna_pneumonia", "params": {"root": str(root)}}],
            "stages": [{"name": "ingest.decode"}, {"name": "findings.rules"}],
            "ray": {"shards_per_wave": per_wave}}


def run(root: Path, out: Path, shard_size: int, per_wave: int) -> tuple[float, int]:
    cfg = parse_config(config(root, shard_size, per_wave))
    t0 = time.perf_counter()
    result = run_pipeline(cfg, out, log=lambda _: None)
    wall = time.perf_counter() - t0
    assert result.complete, "the run did not complete"
    return wall, result.shards_total


def tables_digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.rglob("tables/**/*.parquet")):
        h.update(p.relative_to(out).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--shard-size", type=int, default=16)
    ap.add_argument("--small-wave", type=int, default=2, help="shards per wave of the many-waves run")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=None)
    args = ap.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        write_rsna_sample(root, size=args.size, broken=False, repeat=-(-args.n // len(CASES)))
        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        run(root, Path(tmp) / "warm", args.shard_size, 1024)  # workers' imports, the first actor's setup
        runs = []
        for k in range(args.repeat):
            t_many, shards = run(root, Path(tmp) / f"many-{k}", args.shard_size, args.small_wave)
            t_one, _ = run(root, Path(tmp) / f"one-{k}", args.shard_size, max(shards, 1))
            waves = -(-shards // args.small_wave)
            same = tables_digest(Path(tmp) / f"many-{k}") == tables_digest(Path(tmp) / f"one-{k}")
            per_wave = (t_many - t_one) / max(1, waves - 1)
            runs.append({"shards": shards, "waves": waves, "many_waves_s": round(t_many, 2),
                         "one_wave_s": round(t_one, 2), "ratio": round(t_many / t_one, 3),
                         "extra_s_per_wave": round(per_wave, 3), "same_tables": same})
            print(f"#{k}: {shards} shards in {waves} waves {t_many:.2f} s vs one wave {t_one:.2f} s = "
                  f"{t_many / t_one:.2f}x; {per_wave:+.3f} s per extra wave; same tables: {same}", flush=True)
        ray.shutdown()
    print(json.dumps({"n": args.n, "size": args.size, "shard_size": args.shard_size, "runs": runs}))


if __name__ == "__main__":
    main()
