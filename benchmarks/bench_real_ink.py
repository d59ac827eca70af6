"""Line splitting, chunking and picture cleanup measured on handwriting written by people.

Reads `../shared/real-ink` (CROHME inks and photos of single expressions; see its README),
or the folder given by --data; skips with a message when it is absent. Reports

(a) single expressions kept whole (every file there is one expression);
(b) pages of 2-4 expressions split right, by gap size: each expression scaled to one
    character size (its median stroke box side), stacked with a blank gap of 0.5-1.5
    character heights and a random indent, in writing order, line after line; with the
    count of wrong pages and a 95% Wilson interval. `--vary 0.2` makes each line's gap
    and character size vary by up to 20% either way, as a writer's do (the default keeps
    them even, the figures the README quotes); `--seed` picks another set of pages;
(c) pictures kept whole: the photos, and every ink drawn as a picture;
(p) the first --picture-pages pages of (b) at each gap drawn as pictures and split by the
    picture path, which has geometry alone: a guard that picture rules do not join lines
    (0.2 s a page, so fewer than (b) by default);
(d) chunk cuts through a symbol: a CROHME symbol (a traceGroup) whose strokes land in two
    chunks (a picture's chunks are whole components, painted alone: they cannot cut one);
(e) how many single expressions are chunked at all, the chunk count distribution, and why.

Failures are drawn to benchmarks/results/real-ink/ (one PNG each, lines in colours).

    .venv/bin/python benchmarks/bench_real_ink.py [--pages 1000] [--picture-pages 200]
        [--seed 0] [--vary 0]

Writes benchmarks/results/bench_real_ink.json. No model needed.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image, ImageDraw

from mathpad.imaging.cleanup import clean_picture
from mathpad.imaging.loading import load_image
from mathpad.imaging.raster import MARGIN, ink_scale, render_ink, symbol_size
from mathpad.imaging.split import chunk_ink, image_line_groups, split_ink_lines
from mathpad.ink.inkml import read_inkml
from mathpad.ink.strokes import Ink, Stroke

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = HERE.parent.parent / "shared" / "real-ink"
GAPS = (0.5, 0.8, 1.0, 1.2, 1.5)
CHAR = 100.0  # units: the character size every page expression is scaled to
COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def symbols_of(path: Path) -> list[list[int]]:
    """Trace indices (file order) of each CROHME symbol (a traceGroup with traceViews)."""
    root = ElementTree.parse(path).getroot()
    ns = "{http://www.w3.org/2003/InkML}"
    order = {t.get("id"): i for i, t in enumerate(root.iter(f"{ns}trace"))}
    groups = []
    for group in root.iter(f"{ns}traceGroup"):
        views = [v.get("traceDataRef") for v in group.findall(f"{ns}traceView")]
        if views:
            groups.append([order[v] for v in views if v in order])
    return groups


def scaled(ink: Ink, dx: float, dy: float, size: float = 1.0) -> tuple[Ink, float]:
    """The ink scaled to `size` times CHAR units per symbol, its top left at (dx, dy); and
    its height."""
    factor = size * CHAR / symbol_size(ink)
    xmin, ymin, _, ymax = ink.bounds()
    shift = np.array([xmin, ymin, 0.0])
    strokes = tuple(
        Stroke((s.points - shift) * [factor, factor, 1.0] + [dx, dy, 0.0]) for s in ink.strokes
    )
    return Ink(strokes), (ymax - ymin) * factor


def build_page(
    inks: Sequence[Ink], rng: np.random.Generator, gap: float, vary: float = 0.0
) -> tuple[Ink, list[list[int]], np.ndarray]:
    """A page of 2-4 distinct expressions, one under the other `gap` characters apart, each
    indented by up to two characters, each gap and character size times 1 +- up to `vary`;
    its stroke indices per expression, and which inks they are."""
    count = int(rng.integers(2, 5))
    chosen = rng.choice(len(inks), count, replace=False)
    strokes: list[Stroke] = []
    truth: list[list[int]] = []
    top = 0.0
    for k in chosen:
        indent = float(rng.uniform(0, 2 * CHAR))
        size = float(rng.uniform(1 - vary, 1 + vary)) if vary else 1.0
        part, height = scaled(inks[k], indent, top, size)
        truth.append(list(range(len(strokes), len(strokes) + len(part.strokes))))
        strokes += part.strokes
        top += height + gap * CHAR * (float(rng.uniform(1 - vary, 1 + vary)) if vary else 1.0)
    return Ink(tuple(strokes)), truth, chosen


def draw(ink: Ink, groups: Sequence[Sequence[int]], path: Path, note: str) -> None:
    """The ink with each group of strokes in its own colour, and a caption."""
    xmin, ymin, xmax, ymax = ink.bounds()
    scale = min(1.0, 1600 / max(xmax - xmin, ymax - ymin, 1))
    image = Image.new("RGB", (int((xmax - xmin) * scale) + 40, int((ymax - ymin) * scale) + 60))
    image.paste("white", (0, 0, *image.size))
    canvas = ImageDraw.Draw(image)
    for k, group in enumerate(groups):
        for i in group:
            xy = (ink.strokes[i].xy - [xmin, ymin]) * scale + 20
            canvas.line([tuple(p) for p in xy], fill=COLOURS[k % len(COLOURS)], width=2)
    canvas.text((5, image.height - 20), note[:200], fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def line_groups_of(ink: Ink, lines: list[Ink]) -> list[list[int]]:
    """Stroke indices of each returned line in `ink` (strokes are shared objects)."""
    where = {id(s): i for i, s in enumerate(ink.strokes)}
    return [[where[id(s)] for s in line.strokes] for line in lines]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pages", type=int, default=1000, help="pages per gap size")
    parser.add_argument(
        "--picture-pages", type=int, default=200, help="of (b)'s pages per gap, as pictures"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the pages' random choices")
    parser.add_argument("--vary", type=float, default=0.0, help="of each gap and size, +-")
    args = parser.parse_args(argv)
    if not (args.data / "inks").is_dir():
        print(f"skipped: {args.data} holds no real inks (see benchmarks/README.md)")
        return 0
    failures = RESULTS / "real-ink"
    if failures.is_dir():
        for old in failures.glob("*.png"):
            old.unlink()
    failures.mkdir(parents=True, exist_ok=True)
    paths = sorted((args.data / "inks").glob("*.inkml"))
    inks = [read_inkml(p) for p in paths]
    record: dict[str, object] = {"inks": len(inks), "seed": args.seed, "vary": args.vary}

    # (a) single expressions
    split = []
    for path, ink in zip(paths, inks, strict=True):
        lines = split_ink_lines(ink)
        if len(lines) != 1:
            split.append(path.name)
            draw(ink, line_groups_of(ink, lines), failures / f"a-{path.stem}.png", path.name)
    record["single_whole"] = 1 - len(split) / len(inks)
    record["single_split"] = split
    print(f"(a) single expressions kept whole: {len(inks) - len(split)}/{len(inks)}")

    # (b) pages
    rng = np.random.default_rng(args.seed)
    pages: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    wrong_pages: dict[str, list[str]] = {}
    pictures: dict[str, str] = {}
    for gap in GAPS:
        right, drawn = 0, 0
        pictures_right, pictures_tried = 0, min(args.picture_pages, args.pages)
        for page in range(args.pages):
            ink, truth, chosen = build_page(inks, rng, gap, args.vary)
            if page < pictures_tried:
                image = render_ink(ink, layout="tight")
                if picture_page_right(ink, truth, picture_lines(image)):
                    pictures_right += 1
                elif page + 1 - pictures_right <= 8:
                    image.save(failures / f"p-gap{gap}-{page}.png")
            found = line_groups_of(ink, split_ink_lines(ink))
            if sorted(map(sorted, found)) == truth:
                right += 1
            else:
                names = "+".join(paths[k].stem.rpartition("TestINKMLGT_")[2] for k in chosen)
                wrong_pages.setdefault(str(gap), []).append(names)
            if sorted(map(sorted, found)) != truth and drawn < 8:
                drawn += 1
                draw(ink, found, failures / f"b-gap{gap}-{page}.png", f"gap {gap}: {names}")
        pages[str(gap)] = right / args.pages
        intervals[str(gap)] = low, high = wilson(right, args.pages)
        print(
            f"(b) pages split right at a gap of {gap} characters: {right}/{args.pages}, "
            f"{args.pages - right} wrong (95%: {low:.1%}-{high:.1%})"
        )
        if pictures_tried:
            pictures[str(gap)] = f"{pictures_right}/{pictures_tried}"
            low, high = wilson(pictures_right, pictures_tried)
            print(
                f"(p) the first {pictures_tried} of them drawn as pictures split right: "
                f"{pictures_right}/{pictures_tried} (95%: {low:.1%}-{high:.1%})"
            )
    record["pages_right_by_gap"] = pages
    record["picture_pages_right_by_gap"] = pictures
    record["pages_right_95_interval_by_gap"] = intervals
    record["pages_wrong"] = wrong_pages

    # (c) pictures, (d) cuts in pictures
    photos = sorted((args.data / "images").glob("*")) if (args.data / "images").is_dir() else []
    whole = 0
    for photo in photos:
        groups = picture_lines(load_image(photo).convert("RGB"))
        whole += len(groups) == 1
        if len(groups) != 1:
            print(f"    picture split in {len(groups)}: {photo.name}")
    drawn_whole = 0
    for path, ink in zip(paths, inks, strict=True):
        groups = picture_lines(render_ink(ink, layout="tight"))
        drawn_whole += len(groups) == 1
        if len(groups) != 1:
            render_ink(ink, layout="tight").save(failures / f"c-{path.stem}.png")
    record["photos_whole"] = f"{whole}/{len(photos)}"
    record["drawn_inks_whole"] = f"{drawn_whole}/{len(inks)}"
    print(
        f"(c) photos kept whole: {whole}/{len(photos)}; inks drawn as pictures: "
        f"{drawn_whole}/{len(inks)}"
    )

    # (d) chunk cuts through a CROHME symbol, (e) how often and why expressions are chunked
    cuts, counts, why = 0, collections.Counter(), []
    for path, ink in zip(paths, inks, strict=True):
        chunks = chunk_ink(ink)
        counts[len(chunks)] += 1
        if len(chunks) > 1:
            xmin, ymin, xmax, ymax = ink.bounds()
            why.append(f"{path.stem}: {(xmax - xmin) / (ymax - ymin):.1f}:1")
        where = {id(s): c for c, chunk in enumerate(chunks) for s in chunk.strokes}
        for symbol in symbols_of(path):
            if len({where[id(ink.strokes[i])] for i in symbol}) > 1:
                cuts += 1
                draw(ink, line_groups_of(ink, chunks), failures / f"d-{path.stem}.png", path.name)
    record["chunk_cuts_through_symbols"] = cuts
    record["chunks_per_expression"] = dict(sorted(counts.items()))
    record["chunked_because_wider_than"] = why
    print(f"(d) chunk cuts through a symbol: {cuts}")
    print(f"(e) chunks per expression: {dict(sorted(counts.items()))}; chunked: {why}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_real_ink.json"
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a rate: unlike p +- z*se it stays inside [0, 1] and
    is honest at 1000/1000, where the plain one would claim certainty."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    )
    return centre - half, centre + half


def picture_lines(image: Image.Image) -> list[np.ndarray]:
    """The component boxes of each line the picture path finds, (x0, y0, x1, y1) pixels."""
    clean = clean_picture(image)
    return [clean.boxes[group] for group in image_line_groups(clean)]


def picture_page_right(ink: Ink, truth: list[list[int]], lines: list[np.ndarray]) -> bool:
    """Whether the lines found in the page drawn tight are its expressions: a component
    belongs to the expression nearest its middle in height (they are stacked apart)."""
    scale, ymin = ink_scale(ink), ink.bounds()[1]
    boxes = ink.stroke_bounds()
    extents = np.array([[boxes[e, 1].min(), boxes[e, 3].max()] for e in truth])
    found = []
    for line in lines:
        middle = (line[:, 1:2] + line[:, 3:4]) / 2 - MARGIN
        y = middle / scale + ymin
        distance = np.maximum(extents[:, 0] - y, 0) + np.maximum(y - extents[:, 1], 0)
        found.append(set(distance.argmin(axis=1).tolist()))
    return (
        len(lines) == len(truth)
        and all(len(k) == 1 for k in found)
        and (set.union(*found) == set(range(len(truth))))
    )


if __name__ == "__main__":
    sys.exit(main())
