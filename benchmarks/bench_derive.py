"""What the derived decoder graphs cost and give: first start, disk, step time at 10 and 100.

For each model folder and variant, a fresh child process opens the fast decoder on an empty
cache (derive, verify, store) and reports its wall time and peak RSS; the cache's size on
disk is what the first start leaves. Then one image's cached steps and the plain loop's
steps are timed at prefix 10 and 100 (median of steps 8-12 and 98-102, random encoder
states of the model's shape). Prints a table; writes JSON to benchmarks/results/.

    .venv/bin/python benchmarks/bench_derive.py /work/models/full-torch /work/models/full-optimum
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine_load import cpu_seconds

SUFFIXES = {"fp32": "", "int8": "_int8", "uint8": "_uint8", "quantized": "_quantized"}
_FIRST_START = """
import json, resource, sys, time
from pathlib import Path
from mathpad.model.derive import open_fast_decoder
began = time.perf_counter()
runner = open_fast_decoder(Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
seconds = time.perf_counter() - began
level = runner if isinstance(runner, str) else runner.name
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mb": rss, "level": level}))
"""
_STEPS = 102


def first_start(decoder: Path, cache: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_START, str(decoder), str(cache)],
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    record["disk_mb"] = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 1e6
    return record


def step_times(runner, states: np.ndarray) -> dict[str, float]:
    """Median seconds of one step at prefix 10 and at prefix 100."""
    tokens = np.random.default_rng(0).integers(3, 400, (1, _STEPS + 1))
    state, seconds = runner.start(states), []
    for t in range(_STEPS):
        began = time.perf_counter()
        state.extend(tokens[:, t : t + 1])
        seconds.append(time.perf_counter() - began)
    return {
        "step10_ms": 1000 * statistics.median(seconds[7:12]),
        "step100_ms": 1000 * statistics.median(seconds[97:102]),
    }


def _children_seconds() -> float:
    times = os.times()
    return times.children_user + times.children_system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--variants", nargs="+", default=["int8", "fp32"])
    parser.add_argument("--no-plain", action="store_true", help="skip the plain loop's steps")
    args = parser.parse_args()
    from mathpad.model.derive import open_fast_decoder
    from mathpad.model.runners import PlainDecoder
    from mathpad.model.sessions import make_session

    machine_before, own_before = cpu_seconds()
    children_before = _children_seconds()
    began = time.perf_counter()
    rows = []
    print("| model | variant | level | first start s | peak RSS MB | disk MB | step 10 / 100 ms "
          "cached | step 10 / 100 ms plain |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models:
        for variant in args.variants:
            decoder = model / "onnx" / f"decoder_model{SUFFIXES[variant]}.onnx"
            with tempfile.TemporaryDirectory(dir=model) as tmp:
                row = {"model": model.name, "variant": variant, **first_start(decoder, Path(tmp))}
                runner = open_fast_decoder(decoder, cache_dir=Path(tmp))
                plain_session = None if args.no_plain else make_session(decoder)
                session = plain_session or make_session(decoder)
                hidden = next(i for i in session.get_inputs() if i.type == "tensor(float)")
                states = np.random.default_rng(1).standard_normal((1, 577, hidden.shape[-1]))
                states = states.astype(np.float32)
                if not isinstance(runner, str):
                    row["cached"] = step_times(runner, states)
                del runner
                if plain_session is not None:
                    row["plain"] = step_times(PlainDecoder(plain_session), states)
                del session, plain_session
            rows.append(row)
            cached, plain = row.get("cached", {}), row.get("plain", {})

            def pair(times: dict) -> str:
                return f"{times['step10_ms']:.0f} / {times['step100_ms']:.0f}" if times else "-"

            print(
                f"| {model.name} | {variant} | {row['level']} | {row['seconds']:.1f} | "
                f"{row['peak_rss_mb']:.0f} | {row['disk_mb']:.0f} | {pair(cached)} | "
                f"{pair(plain)} |",
                flush=True,
            )
    machine_after, own_after = cpu_seconds()
    children = _children_seconds() - children_before
    wall = time.perf_counter() - began
    load = (machine_after - machine_before - (own_after - own_before) - children) / wall
    print(f"\nother processes kept {load:.1f} of {os.cpu_count()} cores busy meanwhile")
    out = Path(__file__).parent / "results" / "bench_derive.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "other_load_cores": load}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
