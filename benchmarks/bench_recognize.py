"""End-to-end recognition speed, per-step decoder cost, start-up latency and peak memory.

Everything runs on one model folder (by default the full-size random-weight model that
tools/make_full_model.py builds) and one image, with every configuration forced to the same
output length, so the figures compare the decoding machinery and nothing else:

  (a) transformers `generate` in PyTorch fp32 with its KV cache (the reference pipeline)
  (b) the plain ONNX loop, fp32        (c) mathpad's default decoding, fp32
  (d) mathpad's default decoding, int8 (e) the plain ONNX loop, int8

Start-up and memory are measured on `mathpad recognize` run as a user runs it, in a
subprocess with its own derived-graph cache. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from machine_load import cpu_seconds
from PIL import Image, ImageDraw

from mathpad.model.engine import Engine
from mathpad.model.runners import DecoderRunner, StepFunction
from mathpad.model.store import resolve_model

DEFAULT_MODEL = Path("~/.cache/mathpad-dev/full-model").expanduser()  # tools/make_full_model.py
RESULTS = Path(__file__).parent / "results"
WARM_UP = 4  # tokens of the untimed first recognition of each configuration
STEPS = (10, 100)  # the per-step figures: early in a sequence, and late in a long one
STARTUP_LENGTH = 40  # tokens per recognition in the start-up and memory measurements
BUSY = 0.3  # share of the cores used by other processes above which a figure is suspect


@dataclass(frozen=True)
class Config:
    """One way of recognizing: who decodes, with which weights."""

    key: str
    label: str
    variant: str  # "fp32" / "int8"; the PyTorch reference is fp32
    decode: str  # "transformers", "plain" or "auto"


CONFIGS = (
    Config("a", "transformers PyTorch fp32", "fp32", "transformers"),
    Config("b", "plain ONNX fp32", "fp32", "plain"),
    Config("c", "mathpad fp32", "fp32", "auto"),
    Config("d", "mathpad int8", "int8", "auto"),
    Config("e", "plain ONNX int8", "int8", "plain"),
)


@dataclass
class Timing:
    """The runs of one configuration at one output length."""

    config: str
    length: int
    decoder: str
    runs: list[float]
    steps: list[list[float]]  # per run, seconds of each decoder call (call k makes token k)
    others: float  # share of the machine other processes used meanwhile (see `repeat`)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def step_ms(self, step: int) -> float | None:
        """Median over runs of the median of the 5 decoder calls around `step` (less noise)."""
        windows = [run[max(step - 3, 0) : step + 2] for run in self.steps if len(run) >= step]
        if not windows:
            return None
        return 1000 * statistics.median(statistics.median(w) for w in windows)

    def outside_decoder(self) -> float:
        """Median seconds not spent in decoder calls: preprocessing, encoder, search."""
        return statistics.median(t - sum(s) for t, s in zip(self.runs, self.steps, strict=True))


def test_image(seed: int = 0) -> Image.Image:
    """A deterministic dark-on-light scribble; any image costs the same once resized."""
    image = Image.new("RGB", (600, 400), "white")
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(seed)
    for _ in range(12):
        points = [tuple(p) for p in rng.uniform((40, 60), (560, 340), size=(6, 2)).tolist()]
        draw.line(points, fill="black", width=4, joint="curve")
    return image


def repeat(run: Callable[[], float], repeats: int, budget: float) -> tuple[list[float], float]:
    """At least one run, then more while the next one still fits in `budget` seconds.

    Also returns the share of the machine's cores that other processes used meanwhile: on
    a shared machine, figures taken at `BUSY` or more are inflated and should be rerun.
    """
    began, (machine, own) = time.perf_counter(), cpu_seconds()
    runs = [run()]
    while len(runs) < repeats and sum(runs) + runs[-1] <= budget:
        runs.append(run())
    wall, (machine_end, own_end) = time.perf_counter() - began, cpu_seconds()
    others = (machine_end - machine) - (own_end - own)
    return runs, max(others, 0.0) / (wall * (os.cpu_count() or 1))


class TimedRunner:
    """Wraps a decoder runner and records how long each step takes, for per-step figures."""

    def __init__(self, runner: DecoderRunner) -> None:
        self.runner = runner
        self.name = runner.name
        self.steps: list[float] = []

    def start(self, encoder_hidden_states: np.ndarray) -> StepFunction:
        step = self.runner.start(encoder_hidden_states)
        self.steps = []

        def timed(tokens: np.ndarray) -> np.ndarray:
            began = time.perf_counter()
            logits = step(tokens)
            self.steps.append(time.perf_counter() - began)
            return logits

        return timed


def force_length(engine: Engine, length: int) -> None:
    """Make every sequence exactly `length` tokens long, start token included.

    Random weights would stop anywhere; (a) gets the same with min/max_new_tokens.
    """
    engine.settings = dataclasses.replace(engine.settings, min_length=length, max_length=length)


# One recognition at a given length: the number of tokens it made and each step's seconds.
Recognize = Callable[[int], tuple[int, list[float]]]


def time_lengths(
    key: str,
    decoder: str,
    recognize: Recognize,
    lengths: Sequence[int],
    repeats: int,
    budget: float,
) -> list[Timing]:
    """Time `recognize` end to end at each length, after an untimed run that warms it up."""
    recognize(WARM_UP)
    timings = []
    for length in lengths:
        steps: list[list[float]] = []

        def run(length: int = length, steps: list[list[float]] = steps) -> float:
            began = time.perf_counter()
            made, step_seconds = recognize(length)
            elapsed = time.perf_counter() - began
            if made != length:
                raise RuntimeError(f"({key}) made {made} tokens, not {length}")
            steps.append(step_seconds)
            return elapsed

        runs, others = repeat(run, repeats, budget)
        timings.append(Timing(key, length, decoder, runs, steps, others))
    return timings


def time_engine(
    engine: Engine,
    config: Config,
    image: Image.Image,
    lengths: Sequence[int],
    repeats: int,
    budget: float,
) -> list[Timing]:
    """`engine.recognize`, from image to tokens, with the decoder's steps timed."""
    timer = TimedRunner(engine.decoder)
    engine.decoder = timer

    def recognize(length: int) -> tuple[int, list[float]]:
        force_length(engine, length)
        (result,) = engine.recognize([image])
        return len(result.token_ids), list(timer.steps)

    return time_lengths(config.key, timer.name, recognize, lengths, repeats, budget)


def time_transformers(
    reference: Path,
    image: Image.Image,
    lengths: Sequence[int],
    repeats: int,
    budget: float,
    threads: int,
) -> list[Timing]:
    """The reference: image processor + `generate` with the KV cache, greedy, fp32."""
    import torch
    import transformers
    from transformers import VisionEncoderDecoderModel, ViTImageProcessorPil

    transformers.logging.set_verbosity_error()  # no notes about max_length
    torch.set_num_threads(threads)
    processor = ViTImageProcessorPil.from_pretrained(reference)  # as without torchvision
    model = VisionEncoderDecoderModel.from_pretrained(reference).eval()
    calls: list[float] = []
    began_call: list[float] = []
    model.decoder.register_forward_pre_hook(lambda *_: began_call.append(time.perf_counter()))
    model.decoder.register_forward_hook(
        lambda *_: calls.append(time.perf_counter() - began_call.pop())
    )

    def recognize(length: int) -> tuple[int, list[float]]:
        calls.clear()
        with torch.inference_mode():
            pixels = processor(images=image, return_tensors="pt").pixel_values
            tokens = model.generate(
                pixels,
                max_new_tokens=length - 1,
                min_new_tokens=length - 1,
                do_sample=False,
                num_beams=1,
            )
        return tokens.shape[1], list(calls)

    return time_lengths("a", "transformers", recognize, lengths, repeats, budget)


@dataclass(frozen=True)
class Launch:
    """One `mathpad recognize` process: wall time from launch to exit, and its peak RSS."""

    seconds: float
    recognition_seconds: float
    peak_rss_mb: float
    tokens: int


def launch(model_dir: Path, variant: str, image_path: Path, cache_home: Path) -> Launch:
    """Run the CLI as a user does, with `cache_home` as its XDG cache (derived graphs)."""
    command = [
        str(Path(sys.executable).with_name("mathpad")), "recognize", "--json",
        "--model", str(model_dir), "--variant", variant,
        "--max-length", str(STARTUP_LENGTH), str(image_path),
    ]  # fmt: skip
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    with tempfile.TemporaryFile() as output:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # the child's own rusage, not all children
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{text}")
    record = json.loads(text.strip().splitlines()[-1])
    return Launch(seconds, record["seconds"], usage.ru_maxrss / 1024, len(record["token_ids"]))


def measure_startup(
    model_dir: Path, image: Image.Image, variants: Sequence[str], repeats: int
) -> dict[str, dict[str, object]]:
    """First start (empty derived-graph cache), second start, and a warm in-process run."""
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="mathpad-bench-") as folder:
        image_path = Path(folder) / "image.png"
        image.save(image_path)
        for variant in variants:
            cache_home = Path(folder) / f"cache-{variant}"
            first = launch(model_dir, variant, image_path, cache_home)
            second = [launch(model_dir, variant, image_path, cache_home) for _ in range(2)]
            engine = Engine(
                resolve_model(model_dir, variant), cache_dir=cache_home / "mathpad" / "graphs"
            )
            engine.recognize([image], max_length=STARTUP_LENGTH)  # warm-up
            warm = []
            for _ in range(repeats):
                began = time.perf_counter()
                engine.recognize([image], max_length=STARTUP_LENGTH)
                warm.append(time.perf_counter() - began)
            del engine
            gc.collect()
            results[variant] = {
                "tokens": first.tokens,
                "first_start_s": first.seconds,
                "first_start_recognition_s": first.recognition_seconds,
                "second_start_s": statistics.median(s.seconds for s in second),
                "second_start_recognition_s": statistics.median(
                    s.recognition_seconds for s in second
                ),
                "warm_recognition_s": statistics.median(warm),
                "peak_rss_first_start_mb": first.peak_rss_mb,
                "peak_rss_second_start_mb": max(s.peak_rss_mb for s in second),
            }
    return results


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    import torch
    import transformers

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def targets(
    timings: list[Timing], startup: dict[str, dict[str, object]]
) -> list[dict[str, object]]:
    """The project's speed and memory goals, each with its measured value."""
    by = {(t.config, t.length): t for t in timings}
    rows: list[dict[str, object]] = []

    def add(name: str, value: float | None, limit: float) -> None:
        met = None if value is None else value <= limit  # None: not measured in this run
        rows.append({"target": name, "value": value, "limit": limit, "met": met})

    for key, limit in (("d", 0.25), ("c", 0.6)):
        if (key, 40) in by and ("a", 40) in by:
            add(f"({key}) / (a) at 40 tokens", by[key, 40].median / by["a", 40].median, limit)
    for key in ("c", "d"):
        longest = max((t for t in timings if t.config == key), key=lambda t: t.length, default=None)
        if longest is not None:
            early, late = longest.step_ms(STEPS[0]), longest.step_ms(STEPS[1])
            ratio = late / early if early and late else None
            add(f"({key}) step {STEPS[1]} / step {STEPS[0]}", ratio, 1.3)
    if "int8" in startup:
        int8 = startup["int8"]
        add("peak RSS of mathpad recognize int8, MB", float(int8["peak_rss_second_start_mb"]), 700)
        rss = float(int8["peak_rss_first_start_mb"])
        add("the same at first start (derives the graphs), MB", rss, 700)
        second = float(int8["second_start_s"]) / float(int8["warm_recognition_s"])
        add("int8 second start to result / warm recognition", second, 2.0)
    return rows


def print_report(
    timings: list[Timing],
    startup: dict[str, dict[str, object]],
    goals: list[dict[str, object]],
    lengths: Sequence[int],
) -> None:
    by = {(t.config, t.length): t for t in timings}
    print(
        "\nEnd to end, image to tokens, median seconds (x = ratio to (a); n = runs; "
        f"* = other processes used {BUSY:.0%} or more of the cores meanwhile)"
    )
    print(f"{'config':<46}" + "".join(f"{f'{n} tokens':>20}" for n in lengths))
    for config in CONFIGS:
        cells = []
        for n in lengths:
            t, ref = by.get((config.key, n)), by.get(("a", n))
            ratio = f" {t.median / ref.median:.2f}x" if t and ref else ""
            busy = "*" if t and t.others >= BUSY else ""
            cells.append(f"{t.median:.2f}s{ratio} n={len(t.runs)}{busy}" if t else "-")
        decoder = next((t.decoder for t in timings if t.config == config.key), "-")
        name = f"({config.key}) {config.label} [{decoder}]"
        print(f"{name:<46}" + "".join(f"{c:>20}" for c in cells))
    longest = max(lengths)
    print(f"\nDecoder step, ms (median of 5 steps around it, at {longest} tokens); "
          "outside decoder = preprocessing + encoder + search, s")  # fmt: skip
    print(f"{'config':<10}{'step 10':>10}{'step 100':>10}{'ratio':>8}{'outside':>10}")
    for config in CONFIGS:
        t = by.get((config.key, longest))
        if t is None:
            continue
        early, late = t.step_ms(STEPS[0]), t.step_ms(STEPS[1])
        ratio = f"{late / early:.2f}" if early and late else "-"
        shown = [f"{ms:.1f}" if ms else "-" for ms in (early, late)]
        print(
            f"({config.key}){'':<7}{shown[0]:>10}{shown[1]:>10}{ratio:>8}"
            f"{t.outside_decoder():>10.2f}"
        )
    if startup:
        print(f"\nmathpad recognize at {STARTUP_LENGTH} tokens: wall s from launch, peak RSS MB")
        for variant, row in startup.items():
            print(
                f"{variant:<6} first start {row['first_start_s']:.2f}s "
                f"(RSS {row['peak_rss_first_start_mb']:.0f}), "
                f"second start {row['second_start_s']:.2f}s "
                f"(RSS {row['peak_rss_second_start_mb']:.0f}), "
                f"warm in-process {row['warm_recognition_s']:.2f}s"
            )
    print("\nTargets")
    for goal in goals:
        value = goal["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else "-"
        verdict = {True: "met   ", False: "MISSED", None: "n/a   "}[goal["met"]]
        print(f"  {verdict} {goal['target']}: {shown} "
              f"(limit {goal['limit']})")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, write results/bench_recognize.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="hub-layout folder")
    parser.add_argument(
        "--reference", type=Path, default=None,
        help="the PyTorch model for (a), saved with save_pretrained (default MODEL/pytorch)",
    )  # fmt: skip
    parser.add_argument("--lengths", type=int, nargs="+", default=[20, 40, 80, 128])
    parser.add_argument("--repeats", type=int, default=3, help="runs per length (at most)")
    parser.add_argument(
        "--budget", type=float, default=60.0,
        help="seconds per configuration and length after which no further run starts",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--configs", default="abcde", help="which of (a)-(e) to run")
    parser.add_argument("--no-startup", action="store_true", help="skip the subprocess runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_recognize.json")
    args = parser.parse_args(argv)
    model_dir = args.model.expanduser()
    reference = (args.reference or model_dir / "pytorch").expanduser()
    image = test_image()
    info = machine()

    startup = {}
    if not args.no_startup:  # first, while this process holds no model
        startup = measure_startup(model_dir, image, ("int8", "fp32"), args.repeats)
        print(json.dumps(startup, indent=2), file=sys.stderr, flush=True)

    timings: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="mathpad-bench-graphs-") as cache:
        for config in CONFIGS:
            if config.key not in args.configs:
                continue
            print(f"({config.key}) {config.label} ...", file=sys.stderr, flush=True)
            if config.decode == "transformers":
                timings += time_transformers(
                    reference, image, args.lengths, args.repeats, args.budget, args.threads
                )
                gc.collect()
                continue
            engine = Engine(
                resolve_model(model_dir, config.variant),
                decode="plain" if config.decode == "plain" else "auto",
                threads=args.threads,
                cache_dir=Path(cache),
            )
            timings += time_engine(engine, config, image, args.lengths, args.repeats, args.budget)
            del engine  # hold one model at a time
            gc.collect()

    goals = targets(timings, startup)
    print_report(timings, startup, goals, args.lengths)
    info["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reference = {t.length: t.median for t in timings if t.config == "a"}
    report = {
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "model": str(model_dir),
        "machine": info,
        "configs": {c.key: dataclasses.asdict(c) for c in CONFIGS},
        "end_to_end": [
            {
                **dataclasses.asdict(t),
                "median_s": t.median,
                "ratio_to_a": t.median / reference[t.length] if t.length in reference else None,
                "step_ms": {str(s): t.step_ms(s) for s in STEPS},
                "outside_decoder_s": t.outside_decoder(),
            }
            for t in timings
        ],
        "startup": startup,
        "targets": goals,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
