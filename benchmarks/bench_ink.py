"""How long the ink core takes: rendering, parsing, splitting and chunking.

Rasterizes a 5,000-point ink and splits a 20-line page (as strokes and as a picture), each
after one warm-up, and prints the median and fastest of `--repeats` runs. No model needed.

    .venv/bin/python benchmarks/bench_ink.py [--repeats 15]

Writes benchmarks/results/bench_ink.json. Run it on a quiet machine: the load average at
start and end is recorded, and figures taken while other work uses the cores are not
comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import PIL

from mathpad.imaging.pieces import image_pieces, ink_pieces
from mathpad.imaging.raster import render_ink
from mathpad.imaging.split import split_image_lines, split_ink_lines
from mathpad.ink.inkml import parse_inkml, to_inkml
from mathpad.ink.strokes import Ink, Stroke

RESULTS = Path(__file__).parent / "results"


def scribble(rng: np.random.Generator, x: float, y: float, points: int, size: float) -> Stroke:
    """A smooth, handwriting-like stroke of `points` samples inside a size x size box."""
    turn = np.cumsum(rng.normal(0, 0.25, points)) + rng.uniform(0, 2 * np.pi)
    xy = np.cumsum(np.column_stack([np.cos(turn), np.sin(turn)]), axis=0)
    xy = (xy - xy.min(axis=0)) / np.maximum(np.ptp(xy, axis=0), 1e-9) * size
    t = np.arange(points) * 8.0
    return Stroke(np.column_stack([xy + np.array([x, y]), t]))


def dense_ink(rng: np.random.Generator, points: int = 5000) -> Ink:
    """A line of 50 symbols, 100 samples each: 5,000 points."""
    return Ink(tuple(scribble(rng, 50 * i, 0, points // 50, 40) for i in range(50)))


def page(rng: np.random.Generator, lines: int = 20) -> Ink:
    """`lines` lines of 12 symbols; every fourth line ends in a fraction."""
    strokes = []
    for k in range(lines):
        top = 120 * k
        strokes += [scribble(rng, 50 * i, top + 20, 30, 40) for i in range(12)]
        if k % 4 == 0:
            strokes.append(Stroke(np.array([[600.0, top + 40], [700.0, top + 41]])))
            strokes += [scribble(rng, 630, top - 15, 30, 40), scribble(rng, 630, top + 50, 30, 40)]
    return Ink(tuple(strokes))


def timed(work: Callable[[], object], repeats: int) -> dict[str, float]:
    work()  # warm-up: imports, font cache, first allocation
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        runs.append(time.perf_counter() - began)
    return {"median_ms": statistics.median(runs) * 1e3, "min_ms": min(runs) * 1e3, "runs": repeats}


def main(argv: Sequence[str] | None = None) -> int:
    """Time each case, print a table and write results/bench_ink.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    ink, lines = dense_ink(rng), page(rng)
    text = to_inkml(ink)
    picture = render_ink(lines, target_height=20 * 120, layout="tight")
    cases: dict[str, Callable[[], object]] = {
        "render 5,000-point ink, 3:2": lambda: render_ink(ink),
        "render 5,000-point ink, tight": lambda: render_ink(ink, layout="tight"),
        "parse 5,000-point InkML": lambda: parse_inkml(text),
        "split 20-line page (ink)": lambda: split_ink_lines(lines),
        "ink_pieces 20-line page": lambda: ink_pieces(lines),
        f"split 20-line page (picture {picture.width}x{picture.height})": (
            lambda: split_image_lines(picture)
        ),
        "image_pieces 20-line page": lambda: image_pieces(picture),
    }
    load_before = os.getloadavg()[0]
    results = {name: timed(work, args.repeats) for name, work in cases.items()}
    load_after = os.getloadavg()[0]

    width = max(map(len, results))
    print(f"{'case':<{width}}  {'median ms':>10}  {'min ms':>8}")
    for name, figures in results.items():
        print(f"{name:<{width}}  {figures['median_ms']:>10.2f}  {figures['min_ms']:>8.2f}")
    print(f"load average {load_before:.2f} at start, {load_after:.2f} at end")

    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "results": results,
        "points": ink.point_count,
        "page_lines": len(split_ink_lines(lines)),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "matplotlib": matplotlib.__version__,
            "pillow": PIL.__version__,
            "load_average_start": load_before,
            "load_average_end": load_after,
        },
    }
    (RESULTS / "bench_ink.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
