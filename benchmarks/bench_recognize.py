"""End-to-end recognition speed on full-size models of both exporters, with drafts, in one run.

Every configuration recognizes the same image, forced to the same output length, so the
figures compare the decoding machinery and nothing else. For each model folder (by default
the torch-exported and the hub-style optimum-exported models tools/make_full_model.py
builds in /work/models):

  (a) transformers `generate` in PyTorch fp32 with its KV cache (the reference pipeline)
  (o) optimum's ORTModelForVision2Seq exported WITH past key/values, fp32 and int8
      (benchmarks/make_optimum_past.py; what an ONNX user would otherwise pick)
  (b) the plain ONNX loop, fp32        (e) the plain ONNX loop, int8
  (c) mathpad fp32                     (d) mathpad int8
      cold, and with a draft that is right for its first 0, 10, 20, 30, 40 tokens

(a) and (o) run in the dev venv (torch, optimum) through reference_worker.py on the pixel
values mathpad computes (bit-identical to the image processor's), so their times leave out
preprocessing, which mathpad's include. Also: the encoder alone, the decoder's step time at
steps 10 and 100, and whether a batch of 4 images gives the tokens of one-by-one runs for
every variant. Prints a table, the targets met or missed, and writes JSON.
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
from mathpad.model.runners import DecoderRunner, DecodeState
from mathpad.model.store import resolve_model

# Outside the repository (gigabytes); both settable, the defaults are this project's machines.
MODELS = Path(os.environ.get("MATHPAD_BENCH_MODELS", "/work/models"))
DEFAULT_MODELS = (MODELS / "full-torch", MODELS / "full-optimum")
DEFAULT_PAST = MODELS / "full-optimum-past"  # make_optimum_past.py, from full-optimum's weights
DEFAULT_CACHE = MODELS / "bench-graphs"  # derived graphs, kept between runs
DEV_PYTHON = os.environ.get("MATHPAD_OPTIMUM_PYTHON", "/work/venvs/optimum/bin/python")
RESULTS = Path(__file__).parent / "results"
WARM_UP = 4  # tokens of the untimed first recognition of each configuration
LENGTH = 40  # tokens per recognition (start included) for the main comparison
LONG = 128  # the length at which step 100 is measured
STEPS = (10, 100)  # the per-step figures: early in a sequence, and late in a long one
DRAFTS = (0, 10, 20, 30, 40)  # draft tokens right before it goes wrong
BUSY = 0.3  # share of the cores used by other processes above which a figure is suspect
BATCH = 4
VARIANTS = ("fp32", "int8", "uint8", "quantized")


@dataclass
class Timing:
    """The runs of one configuration on one model at one length."""

    model: str
    config: str
    label: str
    length: int
    draft: int | None  # draft tokens right; None: cold (no draft)
    decoder: str
    runs: list[float]
    steps: list[list[float]]  # per run, seconds of each decoder call
    others: float  # share of the machine other processes used meanwhile
    accepted: int | None = None  # draft tokens the search kept
    same_tokens: bool | None = None  # tokens identical to the cold run's

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def step_ms(self, step: int) -> float | None:
        """Median over runs of the median of the 5 decoder calls around `step` (less noise)."""
        windows = [run[max(step - 3, 0) : step + 2] for run in self.steps if len(run) >= step]
        if not windows:
            return None
        return 1000 * statistics.median(statistics.median(w) for w in windows)


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
    """Wraps a decoder runner and records how long each decoder call takes."""

    def __init__(self, runner: DecoderRunner) -> None:
        self.runner = runner
        self.name, self.reason = runner.name, runner.reason
        self.batch_invariant = runner.batch_invariant
        self.steps: list[float] = []

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> DecodeState:
        self.steps = []
        return _TimedState(self.runner.start(encoder_hidden_states, run_options=run_options), self)


class _TimedState:
    def __init__(self, state: DecodeState, timer: TimedRunner) -> None:
        self._state, self._timer = state, timer

    @property
    def length(self) -> int:
        return self._state.length

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        began = time.perf_counter()
        logits = self._state.extend(tokens)
        self._timer.steps.append(time.perf_counter() - began)
        return logits

    def truncate(self, length: int) -> None:
        self._state.truncate(length)

    def select(self, rows: np.ndarray) -> None:
        self._state.select(rows)


def force_length(engine: Engine, length: int) -> None:
    """Make every sequence exactly `length` tokens long, start token included.

    Random weights would stop anywhere; the references get the same with min/max_new_tokens.
    """
    engine.settings = dataclasses.replace(engine.settings, min_length=length, max_length=length)


def draft_for(answer: tuple[int, ...], right: int) -> list[int]:
    """The answer's start token and first `right` tokens, then tokens greedy would not pick."""
    right = min(right, len(answer) - 1)
    wrong = [(t + 1) % 50000 + 3 for t in answer[1 + right :]]
    return [*answer[: 1 + right], *wrong]


def time_engine(
    model: str,
    engine: Engine,
    key: str,
    label: str,
    image: Image.Image,
    lengths: Sequence[int],
    drafts: Sequence[int],
    repeats: int,
    budget: float,
) -> list[Timing]:
    """`engine.recognize` from image to tokens, cold at each length, then with drafts."""
    timer = TimedRunner(engine.decoder)
    engine.decoder = timer

    def once(length: int, draft: list[int] | None = None) -> tuple[float, tuple[int, ...], int]:
        force_length(engine, length)
        began = time.perf_counter()
        (result,) = engine.recognize([image], drafts=[draft] if draft else None)
        elapsed = time.perf_counter() - began
        if len(result.token_ids) != length:
            raise RuntimeError(f"({key}) made {len(result.token_ids)} tokens, not {length}")
        return elapsed, result.token_ids, result.draft_accepted

    once(WARM_UP)
    timings = []
    for length in lengths:
        steps: list[list[float]] = []

        def cold(steps: list[list[float]] = steps, length: int = length) -> float:
            seconds, _, _ = once(length)
            steps.append(list(timer.steps))
            return seconds

        runs, others = repeat(cold, repeats, budget)
        timings.append(Timing(model, key, label, length, None, timer.name, runs, steps, others))
    _, answer, _ = once(LENGTH)
    for right in drafts:
        draft = draft_for(answer, right)
        steps, seen = [], []

        def warm(draft: list[int] = draft, steps: list = steps, seen: list = seen) -> float:
            seconds, tokens, accepted = once(LENGTH, draft)
            steps.append(list(timer.steps))
            seen.append((tokens == answer, accepted))
            return seconds

        runs, others = repeat(warm, repeats, budget)
        timings.append(
            Timing(
                model,
                key,
                label,
                LENGTH,
                right,
                timer.name,
                runs,
                steps,
                others,
                accepted=seen[0][1],
                same_tokens=all(s for s, _ in seen),
            )
        )
    engine.decoder = timer.runner
    return timings


def time_encoder(engine: Engine, image: Image.Image, repeats: int) -> float:
    """Median seconds of preprocessing + encoder alone, the floor of any recognition."""
    engine.encode([image])
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        engine.encode([image])
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def time_reference(
    model: str,
    kind: str,
    folder: Path,
    variant: str,
    pixels: Path,
    lengths: Sequence[int],
    args: argparse.Namespace,
) -> list[Timing]:
    """(a) or (o) in the dev venv, through reference_worker.py."""
    command = [
        args.dev_python, str(Path(__file__).with_name("reference_worker.py")),
        "--kind", kind, "--model", str(folder), "--variant", variant, "--pixels", str(pixels),
        "--lengths", *map(str, lengths), "--repeats", str(args.repeats),
        "--budget", str(args.budget), "--threads", str(args.threads),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    key = "a" if kind == "torch" else f"o{variant}"
    label = "PyTorch generate fp32" if kind == "torch" else f"optimum with past {variant}"
    decoder = "transformers" if kind == "torch" else "optimum"
    return [
        Timing(model, key, label, r["length"], None, decoder, r["runs"], r["steps"], r["others"])
        for r in report["results"]
    ]


def batch_check(folder: Path, cache: Path, threads: int) -> list[dict[str, object]]:
    """A batch of 4 images against one-by-one runs, for every variant the folder has."""
    images = [test_image(seed) for seed in range(BATCH)]
    rows = []
    for variant in VARIANTS:
        try:
            files = resolve_model(folder, variant)
        except Exception as error:  # a variant the folder lacks: say so, go on
            rows.append({"variant": variant, "error": str(error)})
            continue
        engine = Engine(files, threads=threads, cache_dir=cache)
        together = engine.recognize(images, max_length=LENGTH)
        alone = [engine.recognize([image], max_length=LENGTH)[0] for image in images]
        rows.append(
            {
                "variant": variant,
                "decoder": engine.decoder.name,
                "reason": engine.decoder.reason,
                "batch_invariant": engine.decoder.batch_invariant,
                "identical": all(
                    t.token_ids == a.token_ids for t, a in zip(together, alone, strict=True)
                ),
            }
        )
        del engine
        gc.collect()
    return rows


def machine() -> dict[str, object]:
    """What the figures were measured on."""
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
        "numpy": np.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def targets(timings: list[Timing], encoders: dict[tuple[str, str], float]) -> list[dict]:
    """issue 12's goals per model, each with its measured value (None: not measured)."""
    by = {(t.model, t.config, t.length, t.draft): t for t in timings}
    rows: list[dict[str, object]] = []

    def add(model: str, name: str, value: float | None, limit: float) -> None:
        met = None if value is None else value <= limit
        rows.append({"model": model, "target": name, "value": value, "limit": limit, "met": met})

    def ratio(model: str, key: str, reference: str) -> float | None:
        mine, theirs = by.get((model, key, LENGTH, None)), by.get((model, reference, LENGTH, None))
        return mine.median / theirs.median if mine and theirs else None

    for model in dict.fromkeys(t.model for t in timings):
        add(model, "int8 cold / PyTorch", ratio(model, "d", "a"), 0.40)
        add(model, "int8 cold / optimum-with-past int8", ratio(model, "d", "oint8"), 0.8)
        add(model, "fp32 cold / PyTorch", ratio(model, "c", "a"), 0.85)
        full = by.get((model, "d", LENGTH, DRAFTS[-1]))
        encoder = encoders.get((model, "int8"))
        if full and encoder is not None:
            add(model, "int8 with a fully right draft - encoder, s", full.median - encoder, 0.10)
        for key in ("c", "d"):
            long = by.get((model, key, LONG, None))
            early, late = (long.step_ms(s) for s in STEPS) if long else (None, None)
            value = late / early if early and late else None
            add(model, f"({key}) step {STEPS[1]} / step {STEPS[0]}", value, 1.15)
    return rows


def print_report(timings: list[Timing], encoders: dict, batches: dict, goals: list[dict]) -> None:
    print(
        f"\nEnd to end, image to tokens, median seconds at {LENGTH} tokens (x = ratio to (a) of "
        f"the same model; n = runs; * = others used {BUSY:.0%}+ of the cores meanwhile)"
    )
    for model in dict.fromkeys(t.model for t in timings):
        reference = next((t for t in timings if (t.model, t.config, t.length) ==
                          (model, "a", LENGTH)), None)  # fmt: skip
        print(f"\n{model}")
        print(f"  {'config':<44}{'draft':>6}{'median':>9}{'x (a)':>7}{'n':>3}  notes")
        for t in timings:
            if t.model != model or t.length != LENGTH:
                continue
            x = f"{t.median / reference.median:.2f}" if reference else "-"
            draft = "-" if t.draft is None else str(t.draft)
            notes = "*" if t.others >= BUSY else ""
            if t.accepted is not None:
                notes += f" kept {t.accepted}, same tokens: {t.same_tokens}"
            name = f"({t.config}) {t.label} [{t.decoder}]"
            print(f"  {name:<44}{draft:>6}{t.median:>8.3f}s{x:>7}{len(t.runs):>3}  {notes}")
        for (m, variant), seconds in encoders.items():
            if m == model:
                print(f"  preprocessing + encoder alone, {variant}: {seconds:.3f}s")
        for t in timings:
            if t.model == model and t.length == LONG:
                early, late = (t.step_ms(s) for s in STEPS)
                shown = [f"{v:.1f}" if v else "-" for v in (early, late)]
                print(f"  ({t.config}) at {LONG} tokens: {t.median:.2f}s; step 10 {shown[0]} ms, "
                      f"step 100 {shown[1]} ms")  # fmt: skip
        for row in batches.get(model, []):
            verdict = row.get("identical", row.get("error"))
            print(f"  batch of {BATCH} == one by one, {row['variant']}: {verdict} "
                  f"[{row.get('decoder', '-')}]")  # fmt: skip
    print("\nTargets")
    for goal in goals:
        value = goal["value"]
        shown = f"{value:.3f}" if isinstance(value, float) else "-"
        verdict = {True: "met   ", False: "MISSED", None: "n/a   "}[goal["met"]]
        print(f"  {verdict} {Path(goal['model']).name}: {goal['target']}: {shown} "
              f"(limit {goal['limit']})")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, write results/bench_recognize.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--past", type=Path, default=DEFAULT_PAST, help="optimum-with-past model")
    parser.add_argument("--past-for", default="full-optimum", help="which model (o) belongs to")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="derived graphs")
    parser.add_argument("--dev-python", default=DEV_PYTHON, help="interpreter with torch/optimum")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (at most)")
    parser.add_argument("--budget", type=float, default=40.0, help="seconds per figure")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--configs", default="aobecd", help="which of (a) (o) (b) (e) (c) (d)")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch check")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_recognize.json")
    args = parser.parse_args(argv)
    image = test_image()
    info = machine()
    timings: list[Timing] = []
    encoders: dict[tuple[str, str], float] = {}
    batches: dict[str, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory(prefix="mathpad-bench-") as folder:
        for model_dir in args.models:
            model = str(model_dir)
            pixels = Path(folder) / "pixels.npy"
            if "a" in args.configs:
                print(f"{model} (a) ...", file=sys.stderr, flush=True)
                engine = Engine(resolve_model(model_dir, "fp32"), decode="plain")
                np.save(pixels, engine.pixel_values([image]))
                del engine
                timings += time_reference(
                    model, "torch", model_dir / "pytorch", "fp32", pixels, [LENGTH], args
                )
            if "o" in args.configs and model_dir.name == args.past_for:
                for variant in ("fp32", "int8"):
                    print(f"{model} (o) {variant} ...", file=sys.stderr, flush=True)
                    timings += time_reference(
                        model, "optimum-past", args.past, variant, pixels, [LENGTH], args
                    )
            plan = [
                ("b", "plain ONNX fp32", "fp32", "plain", [LENGTH], ()),
                ("e", "plain ONNX int8", "int8", "plain", [LENGTH], ()),
                ("c", "mathpad fp32", "fp32", "auto", [LENGTH, LONG], DRAFTS),
                ("d", "mathpad int8", "int8", "auto", [LENGTH, LONG], DRAFTS),
            ]
            for key, label, variant, decode, lengths, drafts in plan:
                if key not in args.configs:
                    continue
                print(f"{model} ({key}) {label} ...", file=sys.stderr, flush=True)
                engine = Engine(
                    resolve_model(model_dir, variant),
                    decode=decode,  # type: ignore[arg-type]
                    threads=args.threads,
                    cache_dir=args.cache,
                )
                if decode == "auto":
                    encoders[model, variant] = time_encoder(engine, image, args.repeats)
                timings += time_engine(
                    model, engine, key, label, image, lengths, drafts, args.repeats, args.budget
                )
                del engine  # hold one model at a time
                gc.collect()
            if not args.no_batch:
                print(f"{model} batch check ...", file=sys.stderr, flush=True)
                batches[model] = batch_check(model_dir, args.cache, args.threads)
    goals = targets(timings, encoders)
    print_report(timings, encoders, batches, goals)
    info["load_average_at_end"] = os.getloadavg()
    report = {
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": info,
        "timings": [
            {
                **dataclasses.asdict(t),
                "median_s": t.median,
                "step_ms": {str(s): t.step_ms(s) for s in STEPS},
            }
            for t in timings
        ],
        "encoder_s": {f"{Path(m).name}/{v}": s for (m, v), s in encoders.items()},
        "batch_of_4_equals_one_by_one": batches,
        "targets": goals,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
