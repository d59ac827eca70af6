"""Dev check: does the verifier accept correct derived graphs for every probe seed?

Derives the cached graphs of each model file once and verifies them with probe seeds 0-9;
prints one row per file (passes out of 10, the worst error message). A correct rewrite must
pass every seed: a verifier that rejects some seeds would leave users on the slow decoder
by chance.

    .venv/bin/python tools/verify_seeds.py /work/models/full-torch /work/models/full-optimum \
        [--variants fp32 int8 uint8] [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from mathpad.model.derive.io import load_model, save_model
from mathpad.model.derive.rewrites import derive
from mathpad.model.derive.verify import VerificationError, verify

SUFFIXES = {"fp32": "", "int8": "_int8", "uint8": "_uint8", "quantized": "_quantized"}


def check(source: Path, seeds: int, level: str) -> dict:
    with tempfile.TemporaryDirectory(dir=source.parent.parent) as tmp:
        folder = Path(tmp)
        derived = derive(load_model(source), level)
        prepare, step = folder / "prepare.onnx", folder / "step.onnx"
        save_model(derived.prepare, prepare)
        save_model(derived.step, step)
        signature, precision = derived.signature, derived.precision
        del derived
        passed, failures, seconds = 0, [], []
        for seed in range(seeds):
            work = folder / f"work-{seed}"
            work.mkdir()
            began = time.perf_counter()
            try:
                verify(
                    source,
                    prepare,
                    step,
                    precision=precision,
                    signature=signature,
                    work=work,
                    seed=seed,
                )
                passed += 1
            except VerificationError as error:
                failures.append(f"seed {seed}: {error}")
            seconds.append(time.perf_counter() - began)
            for path in work.iterdir():
                path.unlink()
            work.rmdir()
    return {"passed": passed, "seeds": seeds, "failures": failures, "verify_s": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--variants", nargs="+", default=["fp32", "int8", "uint8"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--level", default="cached")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for model in args.models:
        for variant in args.variants:
            source = model / "onnx" / f"decoder_model{SUFFIXES[variant]}.onnx"
            result = check(source, args.seeds, args.level)
            rows.append({"model": model.name, "variant": variant, **result})
            worst = result["failures"][0] if result["failures"] else ""
            print(
                f"{model.name:14} {variant:9} {args.level} {result['passed']}/{args.seeds}"
                f"  verify {min(result['verify_s']):.1f}-{max(result['verify_s']):.1f} s  {worst}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
