"""How much real LaTeX the preview draws, and why the rest fails.

Renders every label of ../shared/real-ink/manifest.json (CROHME and MathWriting ground truth;
skipped when the folder is absent) and every line of benchmarks/data/latex_corpus.txt through
`mathpad.render.render_png`, and, as the reference in the same run, through plain mathtext
with no normalizer. A label counts as drawn when it renders with no glyph missing from the
font (mathtext draws those as a box: a notice). Prints the share drawn, a table of the
reasons for the rest, and the median and 95th percentile render time.

    .venv/bin/python benchmarks/bench_preview_coverage.py [--dpi 100]

Writes benchmarks/results/bench_preview_coverage.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import statistics
import sys
import time
from pathlib import Path

from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser

from mathpad.render import RenderError, render_png

HERE = Path(__file__).parent
RESULTS = HERE / "results"
CORPUS = HERE / "data" / "latex_corpus.txt"
MANIFEST = HERE.parent.parent / "shared" / "real-ink" / "manifest.json"


class _Missing(logging.Handler):
    """Counts mathtext's 'no glyph' warnings: each is a box drawn instead of a symbol."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def labels() -> dict[str, list[str]]:
    sources = {
        "corpus": [
            line
            for line in CORPUS.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
    }
    manifest = Path(sys.argv[0]).resolve().parent.parent / "../shared/real-ink/manifest.json"
    for path in (MANIFEST, manifest):
        if path.exists():
            sources["real-ink"] = [
                e["label"] for e in json.loads(path.read_text()) if e.get("label")
            ]
            break
    else:
        print(f"(no {MANIFEST}: real-ink labels skipped)")
    return sources


def plain_mathtext(latex: str) -> bool:
    """The reference: mathtext alone, each line as it is (CROHME's `$` delimiters kept)."""
    parser = MathTextParser("agg")
    prop = FontProperties(size=20, math_fontfamily="cm")
    try:
        for line in latex.splitlines():
            text = line.strip()
            parser.parse(text if text.startswith("$") else f"${text}$", dpi=100, prop=prop)
    except ValueError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dpi", type=float, default=100.0)
    args = parser.parse_args()
    missing = _Missing()
    logger = logging.getLogger("matplotlib.mathtext")
    logger.addHandler(missing)
    logger.setLevel(logging.WARNING)
    render_png("x")  # warm-up: fonts load once
    report: dict[str, object] = {"dpi": args.dpi}
    seconds: list[float] = []
    print(f"{'source':10} {'labels':>6} {'drawn':>7} {'mathtext alone':>15}")
    for source, items in labels().items():
        reasons: collections.Counter[str] = collections.Counter()
        examples: dict[str, str] = {}
        drawn = 0
        for latex in items:
            missing.messages.clear()
            start = time.perf_counter()
            try:
                render_png(latex, dpi=args.dpi)
            except RenderError as exc:
                reason = exc.reason
            else:
                reason = f"missing glyph: {missing.messages[0]}" if missing.messages else ""
            seconds.append(time.perf_counter() - start)
            if reason:
                reasons[reason] += 1
                examples.setdefault(reason, latex)
            else:
                drawn += 1
        reference = sum(plain_mathtext(latex) for latex in items)
        share, ref_share = drawn / len(items), reference / len(items)
        print(f"{source:10} {len(items):6d} {share:7.1%} {ref_share:15.1%}")
        for reason, count in reasons.most_common():
            print(f"    {count:4d}  {reason}   e.g. {examples[reason]!r}")
        report[source] = {
            "labels": len(items),
            "drawn": drawn,
            "share_drawn": share,
            "mathtext_alone_drawn": reference,
            "failures": [
                {"reason": r, "count": c, "example": examples[r]} for r, c in reasons.most_common()
            ],
        }
    ms = sorted(1000 * s for s in seconds)
    timing = {"median_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * (len(ms) - 1))]}
    report["render_time"] = timing
    median, p95 = timing["median_ms"], timing["p95_ms"]
    print(f"render time per label: median {median:.1f} ms, 95th percentile {p95:.1f} ms")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "bench_preview_coverage.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
