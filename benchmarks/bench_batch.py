"""Is one padded batch of images faster than recognizing them one by one?

For the page splitter and multi-file CLI runs: the same images, forced to the same output
length, recognized as one `Engine.recognize` batch and as a loop of single images. The split
of each into decoder time and the rest (preprocessing, encoder, search) says why.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_recognize import (
    DEFAULT_MODELS,
    RESULTS,
    TimedRunner,
    force_length,
    machine,
    repeat,
    test_image,
)
from PIL import Image

from mathpad.model.engine import Engine
from mathpad.model.store import resolve_model


def time_modes(
    engine: Engine, images: Sequence[Image.Image], repeats: int, budget: float
) -> dict[str, dict[str, float]]:
    """Median seconds for all images as one batch and as a loop, with decoder time apart.

    `others` is the share of the cores other processes used meanwhile (see `repeat`).
    """
    timer = TimedRunner(engine.decoder)
    engine.decoder = timer
    for warm_up in (images[:1], images):  # first runs at each batch size allocate
        engine.recognize(warm_up)
    results = {}
    for mode, groups in (("batch", [images]), ("loop", [[image] for image in images])):
        decoder: list[float] = []

        def run(
            groups: list[Sequence[Image.Image]] = groups, decoder: list[float] = decoder
        ) -> float:
            began, spent = time.perf_counter(), 0.0
            for group in groups:
                engine.recognize(group)
                spent += sum(timer.steps)
            decoder.append(spent)
            return time.perf_counter() - began

        runs, others = repeat(run, repeats, budget)
        total, in_decoder = statistics.median(runs), statistics.median(decoder)
        results[mode] = {
            "median_s": total,
            "decoder_s": in_decoder,
            "outside_decoder_s": statistics.median(
                r - d for r, d in zip(runs, decoder, strict=True)
            ),
            "runs": len(runs),
            "others": others,
        }
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each variant and decoding, print a table, write results/bench_batch.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODELS[-1], help="hub-layout folder")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--length", type=int, default=40, help="tokens per image, start included")
    parser.add_argument("--variants", nargs="+", default=["int8", "fp32"])
    parser.add_argument("--decode", nargs="+", default=["auto"], choices=("auto", "plain"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_batch.json")
    args = parser.parse_args(argv)
    images = [test_image(seed) for seed in range(args.images)]
    report: dict[str, object] = {
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine(),
        "images": args.images,
        "length": args.length,
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="mathpad-bench-graphs-") as cache:
        for variant in args.variants:
            for decode in args.decode:
                engine = Engine(
                    resolve_model(args.model.expanduser(), variant),
                    decode=decode,
                    threads=args.threads,
                    cache_dir=Path(cache),
                )
                force_length(engine, args.length)
                print(f"{variant} {engine.decoder.name} ...", file=sys.stderr, flush=True)
                modes = time_modes(engine, images, args.repeats, args.budget)
                ratio = modes["batch"]["median_s"] / modes["loop"]["median_s"]
                rows.append(
                    {"variant": variant, "decoder": engine.decoder.name, **modes, "ratio": ratio}
                )
                del engine  # hold one model at a time
    report["results"] = rows
    print(f"\n{args.images} images, {args.length} tokens each: median seconds (decoder part)")
    print(f"{'variant':<8}{'decoder':<10}{'batch':>16}{'loop':>16}{'batch/loop':>12}{'others':>8}")
    for row in rows:
        batch, loop = row["batch"], row["loop"]
        print(
            f"{row['variant']:<8}{row['decoder']:<10}"
            f"{batch['median_s']:>8.2f} ({batch['decoder_s']:.2f})"
            f"{loop['median_s']:>8.2f} ({loop['decoder_s']:.2f})"
            f"{row['ratio']:>12.2f}"
            f"{max(batch['others'], loop['others']):>8.0%}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
