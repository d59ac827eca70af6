"""Pages to expressions, and expressions far wider than 6:1 to chunks.

Ink and pictures share both algorithms, which work on boxes: an ink's strokes, or a
picture's connected components after its one cleanup (`cleanup.py`). An ink's strokes are
also in writing order, which says more than positions can; a picture falls back to
geometry alone.

Lines. Boxes are grouped into bands whose vertical extents overlap (a tall operator or a
superscript overlaps its line); two bands, and every band between them, are one
expression when the blank gap between them, in units of the median larger side of the
boxes (about a character's height), is
- under TOUCH: limits and scripts written close, a tight fraction;
- under FAR, in ink, and strokes of one band were written between strokes of the other
  (interleaved): a limit written far under `lim` before the function, a subscript and
  superscript written far apart;
- under STACK and one band has a single bar-like box spanning COVER of the other band's
  width, or a big one centred on it: a fraction bar over its numerator or above its
  denominator, a sum or integral sign over its limits, a hat over its letter. Two lines
  of equations have no such box, and neither do two ordinary symbols one above the
  other. Ink needs its writing order to agree (see `_stacked`), and then a bar wider
  than HAT holds what was written right after it up to STACK_NEAR away (a denominator),
  measured from the bar itself, not from its band. A picture has geometry alone
  (`_holds_in_picture`): there the box holds nothing on a side where its own band holds
  a part (a fraction beginning a line keeps its numerator, not the line above), and a
  bar sharing its band with other boxes holds only with a part on its other side too (a
  fraction has both; a minus sign in a line has none). There a bar also holds what is
  centred under it up to STACK_NEAR away when it holds a symbol up to STACK above it and
  nothing else below it (`_fraction_over`): a fraction has parts on both sides, a minus
  or an equals sign has no symbol above it, and a fraction of the line above keeps its
  own denominator;
- under FAR, in ink, and the upper band, at most SCRIPT wide, was begun right after a
  stroke of the lower one, right of that stroke's middle and at most REACH beyond its end
  (writing on, as a superscript is written; a band begun that way below it is a new line);
  in a picture, the upper band begun so beside the lower band's last box or a big sign
  in it, up to STACK above it and smaller than it and than a unit (`_high_script`);
Joins by geometry alone and by writing on are undone when the gap is as wide as PITCH of
the page's narrowest line break: on that page, such a gap is the writer's line spacing.
Boxes under TINY units (dots, decimal points) neither form nor join bands; each goes with
the line nearest to it, in ink the nearer of the lines written just before and after it.

A page is written line after line, so the first strokes of a line come right after the
last ones of the line above, and order alone may take a line begun under a bar for its
denominator. Where the ink has a clock, a pause of PAUSE or more begins a new writing run
(`writing_runs`), and strokes of different runs are not "written next to" each other; an
ink without a clock is one run. Known weaknesses: a stroke added to a line after the next
line was written (a correction) interleaves them, so two lines under FAR apart join; a
subscript, or a denominator written long after its bar, further than TOUCH from its
base or STACK from its bar splits off; in a picture, a lone narrow symbol just above the
next line's fraction bar is taken as its numerator, a short line of small symbols just
right of a line's end or of a big sign, above it, as its superscript, a big sign
beginning a line holds the end of the line above it (a typeset sign's limits, `k=1`
under a product, reach 0.4-0.5 of its height: no height tells them apart), and
subscripts and scripts not on a line's end or a big sign further than TOUCH from their
base split off. PAUSE is a guess: no timed real
ink was at hand.

Chunks. An expression wider than `max_aspect` times its height is cut, left to right, into
chunks no wider than that: each cut goes in the widest blank gap between half and one and a
half times an even share of what is left. Preferring wide gaps over the fewest chunks keeps
a subscript with its letter (their gap is narrow) and cuts beside operators instead.
Boxes whose horizontal extents overlap are never parted, so a fraction bar keeps what it
spans, and so do a root's overline and a big operator's limits; a cut never goes through a
stroke or a picture's connected ink. The default is 6:1, not 3:2: the model was trained on
whole lines squashed to a square, and a 3:2 slice of a one-line expression holds two or
three symbols. At 6:1 a padded chunk still gives its symbols about 70 of the 384 pixels in
height, and about ten symbols stay together.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from mathpad.imaging.cleanup import CleanPicture, clean_picture, crop
from mathpad.ink.strokes import Ink

# Distances and sizes in units (see the module doc), except FLAT, COVER, LONG, CENTRED,
# PITCH (ratios), NEAR (strokes) and PAUSE (milliseconds).
TOUCH = 0.3  # handwritten lines sit further apart; scripts and limits closer
STACK = 1.0  # a bar or a sum sign holds parts at most a character's height away
STACK_NEAR = 2.0  # ... or a bar, written right before or after them, twice that
NEAR = 2  # strokes between a bar and the nearest stroke it covers, in writing order
FAR = 2.0  # no two bands further apart than this are one expression
SCRIPT = 3.0  # the widest band taken for a script written on from its base
REACH = 1.0  # the furthest right of its base a script begins
PITCH = 1.0  # of the narrowest line break on the page
COVER = 0.6  # of the covered band's width: sloppy bars fall short of their numerator
HAT, HAT_GAP = 1.5, 0.5  # the widest hat (or >='s bar) over one symbol, its largest gap
CENTRED = 0.25  # of the wider width: how far limits sit off the centre of their sign
LIMITS = 1.5  # of a big sign's larger side: the widest its limits are
FLAT = 1.5  # width to height of a bar-like stroke: bars, overlines, hats, arrows
THIN = 1.0  # a bar-like stroke is at most this high
LONG = 3.0  # width to height of a bar that holds what is written next to it at STACK_NEAR
SPILL = 0.5  # how far a numerator written before its bar reaches past the bar's ends
BIG = 1.5  # a sum or product sign is taller than the characters around it
TINY = 0.2  # dots and specks
PAUSE = 1000.0  # a stop this long begins a new writing run (a guess; see the module doc)
SOFT, FIRM = 1, 2  # how sure a join by a bar or a big sign is
MAX_CHUNK_ASPECT = 6.0  # width to height; see the module doc


def split_ink_lines(ink: Ink) -> list[Ink]:
    """One ink per expression, top to bottom; a single expression comes back as is."""
    if ink.is_empty:
        return []
    groups = line_groups(ink.stroke_bounds(), runs=writing_runs(ink))
    return [ink] if len(groups) == 1 else [ink.subset(group) for group in groups]


def chunk_ink(ink: Ink, *, max_aspect: float = MAX_CHUNK_ASPECT) -> list[Ink]:
    """The expression cut left to right into chunks (see the module doc)."""
    if ink.is_empty:
        return []
    groups = chunk_groups(ink.stroke_bounds(), max_aspect)
    return [ink] if len(groups) == 1 else [ink.subset(group) for group in groups]


def image_line_groups(clean: CleanPicture) -> list[np.ndarray]:
    """The components of each expression of a cleaned picture, top to bottom."""
    return line_groups(clean.boxes) if len(clean.boxes) else []


def split_image_lines(image: Image.Image) -> list[Image.Image]:
    """One trimmed, dark-on-light RGB crop per expression, top to bottom; none if blank."""
    clean = clean_picture(image)
    return [crop(clean, group).convert("RGB") for group in image_line_groups(clean)]


def chunk_image(image: Image.Image, *, max_aspect: float = MAX_CHUNK_ASPECT) -> list[Image.Image]:
    """The picture taken as one expression, cut between its components into RGB chunks."""
    clean = clean_picture(image)
    if len(clean.boxes) == 0:
        return []
    return [crop(clean, group).convert("RGB") for group in chunk_groups(clean.boxes, max_aspect)]


def chunk_groups(boxes: np.ndarray, max_aspect: float = MAX_CHUNK_ASPECT) -> list[np.ndarray]:
    """Indices of the boxes of each chunk, left to right, each sorted (see the module doc)."""
    spans, owner = _merge_intervals(boxes[:, 0], boxes[:, 2])
    height = boxes[:, 3].max() - boxes[:, 1].min()
    return [
        np.flatnonzero((owner >= a) & (owner < b))
        for a, b in chunk_ranges(spans, height, max_aspect)
    ]


def writing_runs(ink: Ink) -> np.ndarray:
    """Each stroke's writing run: a new one begins at a stroke begun PAUSE milliseconds or
    more after the one before it ended. An ink without a clock (every t equal, as in
    CROHME files) is one run, and so is a clock that goes back (inks joined together)."""
    starts = np.array([stroke.points[0, 2] for stroke in ink.strokes])
    ends = np.array([stroke.points[-1, 2] for stroke in ink.strokes])
    pauses = starts[1:] - ends[:-1] >= PAUSE
    return np.concatenate([[0], np.cumsum(pauses)]).astype(np.int64)


def line_groups(boxes: np.ndarray, *, runs: np.ndarray | None = None) -> list[np.ndarray]:
    """Indices of the (x0, y0, x1, y1) boxes on each line, top to bottom, each sorted.

    `runs`: the boxes are strokes in writing order (ink), so order may join bands, and
    these are their writing runs (`writing_runs`); None for a picture's components.
    """
    sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    unit = float(np.median(sizes))
    tiny = sizes < TINY * unit
    large = np.flatnonzero(~tiny)
    _, band_of = _merge_intervals(boxes[large, 1], boxes[large, 3])
    bands = [large[band_of == k] for k in range(band_of.max() + 1)]
    joined = _joins(boxes, bands, unit, runs)
    lines = [bands[0]]
    for band, join in zip(bands[1:], joined, strict=True):
        if join:
            lines[-1] = np.concatenate([lines[-1], band])
        else:
            lines.append(band)
    return _attach(boxes, lines, np.flatnonzero(tiny), ordered=runs is not None)


def _joins(
    boxes: np.ndarray, bands: list[np.ndarray], unit: float, runs: np.ndarray | None
) -> np.ndarray:
    """Whether bands k and k + 1 belong to one expression, for each k.

    Any two bands within FAR of each other are compared, not only neighbours: a fraction's
    bar can sit in a band of its own between the numerator and an equals sign. Joining two
    bands joins every band between them. A join by geometry alone or by writing on (not by
    touching, interleaved writing or a bar written next to what it holds) is undone when
    its gap is as wide as PITCH of the page's narrowest line break: on that page, such a
    gap is the writer's line spacing.
    """
    tops = np.array([boxes[band, 1].min() for band in bands])
    bottoms = np.maximum.accumulate([boxes[band, 3].max() for band in bands])
    firm, soft = np.zeros(len(bands) - 1, dtype=bool), []
    ordered = runs is not None
    for i, upper in enumerate(bands):
        for j in range(i + 1, len(bands)):
            lower, gap = bands[j], (tops[j] - bottoms[i]) / unit
            if gap > FAR:
                break
            stacked = _stacked(boxes, upper, lower, unit, gap, runs=runs, adjacent=j == i + 1)
            if gap <= TOUCH or stacked == FIRM or (ordered and _interleaved(upper, lower)):
                firm[i:j] = True
            elif stacked or (
                _writes_on(boxes, upper, lower, unit)
                if ordered
                else _high_script(boxes, upper, lower, unit)
            ):
                soft.append((i, j, gap))
    joins = firm.copy()
    for i, j, _ in soft:
        joins[i:j] = True
    breaks = np.flatnonzero(~joins)
    if len(breaks):
        pitch = PITCH * min((tops[k + 1] - bottoms[k]) / unit for k in breaks)
        joins = firm.copy()
        for i, j, gap in soft:
            if gap < pitch:
                joins[i:j] = True
    return joins


def _interleaved(upper: np.ndarray, lower: np.ndarray) -> bool:
    """Whether strokes of one band were written between strokes of the other: a limit
    written under `lim` before the function, a subscript before its superscript."""
    return bool(
        np.any((lower > upper[0]) & (lower < upper[-1]))
        or np.any((upper > lower[0]) & (upper < lower[-1]))
    )


def _stacked(
    boxes: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    unit: float,
    gap: float,
    *,
    runs: np.ndarray | None,
    adjacent: bool,
) -> int:
    """A bar or a big operator of one band over the other, up to STACK away (see the
    module doc): FIRM when the writing order shows it, SOFT for geometry alone (in a
    picture, where `_holds_in_picture` says, and a fraction's bar up to STACK_NEAR over
    its denominator, see `_fraction_over`), 0 for no.

    In ink only a bar LONG times wider than high and wider than HAT, or a sign (sum,
    integral: big and no wider than high; not a root with its overline) up to STACK away,
    holds a band next to its own; distances are from the bar or sign itself (its band may
    reach past it: a fraction beside a bracket is one band down to its denominator).
    FIRM: a stroke it covers (centred within its width) was written within NEAR strokes
    after it in the same writing run (a denominator right after its bar, limits right
    after their sign), up to STACK_NEAR away. What was written just before it may be the
    end of the line above, so that counts only for a bar or sign that no stroke written
    next to it touches (`_touched`: a line may begin with a T, an E, a root or a k), that
    holds a stroke written next to it on its other side (a minus sign beginning a line
    holds nothing), and when all of it lies within SPILL of the bar's ends (a root or
    integral beginning a line sits under the line above, which is wider): FIRM then, and
    SOFT up to STACK for what was not written next to it (a numerator, the denominator,
    then the bar; a bar, its numerator, then the denominator; a part written after a
    pause).
    A short bar-like box (a hat, an arrow) holds a symbol written next to it up to HAT_GAP.
    """
    if gap > STACK_NEAR:
        return 0
    if runs is None and _fraction_over(boxes, upper, lower, unit):
        return SOFT
    for wide, narrow, below in ((upper, lower, True), (lower, upper, False)):
        covering = _covering(boxes[wide], boxes[narrow], unit)
        if runs is None:
            if gap <= STACK and any(
                _holds_in_picture(boxes, k, wide, narrow, unit, below=below) for k in wide[covering]
            ):
                return SOFT
            continue
        if not adjacent:
            continue
        centres = (boxes[narrow, 0] + boxes[narrow, 2]) / 2
        near_edge = boxes[narrow, 1].min() if below else -boxes[narrow, 3].max()
        for stroke in wide[covering]:
            x0, y0, x1, y1 = boxes[stroke]
            # from the stroke itself: its band may reach past it (a denominator under it)
            reach = max(gap, (near_edge - (y1 if below else -y0)) / unit)
            if reach > STACK_NEAR:
                continue
            if _holds_own(boxes, stroke, wide, below=below):
                continue
            under = narrow[(centres >= x0) & (centres <= x1)]
            under = under[runs[under] == runs[stroke]]  # no pause between: written next
            written_next = np.any(np.abs(under - stroke) <= NEAR)
            if x1 - x0 <= HAT * unit and reach <= HAT_GAP and written_next:
                return SOFT  # a hat, a bar or an arrow over one symbol
            bar = x1 - x0 >= LONG * (y1 - y0) and y1 - y0 <= THIN * unit
            sign = y1 - y0 >= BIG * unit and x1 - x0 <= y1 - y0
            short = x1 - x0 <= HAT * unit  # a one-digit fraction's bar, or a >='s
            if not ((bar and not short) or ((bar or sign) and reach <= STACK)):
                continue
            if np.any((under > stroke) & (under <= stroke + NEAR)):
                return FIRM
            if _touched(boxes, stroke, unit):
                continue  # part of a letter: a T's or an E's bar, a k's stem
            # What was written before it lies within its ends (a numerator), not a
            # wider line above whose last stroke happens to sit over it.
            inside = (
                boxes[narrow, 0].min() >= x0 - SPILL * unit
                and boxes[narrow, 2].max() <= x1 + SPILL * unit
            )
            if inside and _holds_other_side(boxes, stroke, narrow, unit):
                if written_next:
                    return FIRM
                if reach <= STACK and bar and not short:
                    return SOFT
    return 0


def _fraction_over(boxes: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float) -> bool:
    """Whether a bar of `upper`, wider than HAT and LONG times wider than high, holds a
    symbol (2 TINY high or more: not an equals sign's other bar) up to STACK above it,
    nothing between it and `lower`, and a box of `lower` centred within its width up to
    STACK_NEAR below it: a fraction whose denominator was written far down. A minus sign
    or an equals sign holds nothing on both sides at once, and a fraction of the line
    above keeps its own denominator between."""
    centres = (boxes[:, 0] + boxes[:, 2]) / 2
    for bar in upper:
        x0, y0, x1, y1 = boxes[bar]
        if not (x1 - x0 > HAT * unit and x1 - x0 >= LONG * (y1 - y0) and y1 - y0 <= THIN * unit):
            continue
        others = np.delete(np.arange(len(boxes)), bar)
        within = others[(centres[others] >= x0) & (centres[others] <= x1)]
        above = _symbols_beside(boxes, bar, others, unit, above=True, reach=STACK)
        under = np.intersect1d(within, lower)
        between = np.setdiff1d(within[boxes[within, 1] >= y1], lower)
        own_below = between[boxes[between, 3] <= boxes[lower, 1].min()]
        reach = (boxes[under, 1].min() - y1) / unit if len(under) else np.inf
        if len(above) and not len(own_below) and reach <= STACK_NEAR:
            return True
    return False


def _holds_in_picture(
    boxes: np.ndarray, k: int, wide: np.ndarray, narrow: np.ndarray, unit: float, *, below: bool
) -> bool:
    """Whether box k of band `wide`, covering band `narrow` (`_covering`), holds it in a
    picture, where geometry is all there is: not when its own band holds a part on that
    side (`_holds_own`: a fraction beginning a line keeps its own numerator, not the line
    above); a big sign holds its limits; a bar that shares its band holds only with a part
    on its other side too (`_part_beyond`: a fraction has parts on both sides, a minus
    sign in a line has none). A bar alone in its band is a fraction bar between its parts'
    bands, an overline or a hat."""
    if _holds_own(boxes, k, wide, below=below):
        return False
    if boxes[k, 3] - boxes[k, 1] >= BIG * unit:
        return True  # a big sign holds its limits
    return len(wide) == 1 or _part_beyond(boxes, k, narrow, unit, below=below)


def _part_beyond(
    boxes: np.ndarray, bar: int, narrow: np.ndarray, unit: float, *, below: bool
) -> bool:
    """Whether a symbol (2 TINY high or more) centred within the bar's width lies up to
    STACK_NEAR beyond it on the side away from `narrow` (above it when `below`), in any
    band but `narrow`'s: a fraction's other part."""
    others = np.setdiff1d(np.arange(len(boxes)), np.append(narrow, bar))
    return bool(len(_symbols_beside(boxes, bar, others, unit, above=below, reach=STACK_NEAR)))


def _symbols_beside(
    boxes: np.ndarray,
    bar: int,
    candidates: np.ndarray,
    unit: float,
    *,
    above: bool,
    reach: float = np.inf,
) -> np.ndarray:
    """Those of `candidates` that are symbols (2 TINY high or more: not a dot, not an
    equals sign's other bar) centred within the bar's width, on its upper side when
    `above` (else its lower), up to `reach` units from it: a fraction bar's parts."""
    x0, y0, x1, y1 = boxes[bar]
    found = boxes[candidates]
    centres = (found[:, 0] + found[:, 2]) / 2
    symbol = found[:, 3] - found[:, 1] >= 2 * TINY * unit
    if above:
        side = (found[:, 3] <= y0 + THIN * unit / 2) & (y0 - found[:, 3] <= reach * unit)
    else:
        side = (found[:, 1] >= y1 - THIN * unit / 2) & (found[:, 1] - y1 <= reach * unit)
    return candidates[side & symbol & (centres >= x0) & (centres <= x1)]


def _holds_own(boxes: np.ndarray, stroke: int, band: np.ndarray, *, below: bool) -> bool:
    """Whether a box of the stroke's own band lies beyond it (below it when `below`),
    centred within its width: a bar whose denominator sits in its band (a fraction in a
    superscript shares its base's band) holds that, not the band after it."""
    x0, y0, x1, y1 = boxes[stroke]
    others = band[band != stroke]
    centres = (boxes[others, 0] + boxes[others, 2]) / 2
    beyond = boxes[others, 1] >= y1 if below else boxes[others, 3] <= y0
    return bool(np.any(beyond & (centres >= x0) & (centres <= x1)))


def _touched(boxes: np.ndarray, stroke: int, unit: float) -> bool:
    """Whether a stroke written within NEAR strokes of `stroke` touches its box (comes
    within TINY / 2 units): the stem of a T, E, I or pi meets its bar, a root's tick meets
    its overline, a k's loop its stem; a fraction bar, a minus sign or a sum stands apart."""
    near = np.arange(max(0, stroke - NEAR), min(len(boxes), stroke + NEAR + 1))
    near = near[near != stroke]
    margin = TINY * unit / 2
    x0, y0, x1, y1 = boxes[stroke]
    return bool(
        np.any(
            (boxes[near, 0] <= x1 + margin)
            & (boxes[near, 2] >= x0 - margin)
            & (boxes[near, 1] <= y1 + margin)
            & (boxes[near, 3] >= y0 - margin)
        )
    )


def _holds_other_side(boxes: np.ndarray, stroke: int, narrow: np.ndarray, unit: float) -> bool:
    """Whether a symbol written within NEAR strokes of `stroke`, centred within its width,
    lies on the side of it away from `narrow` (the numerator or denominator it holds)."""
    near = np.arange(max(0, stroke - NEAR), min(len(boxes), stroke + NEAR + 1))
    near = near[near != stroke]
    narrow_below = boxes[narrow, 1].min() >= boxes[stroke, 3]
    return bool(len(_symbols_beside(boxes, stroke, near, unit, above=narrow_below)))


def _writes_on(boxes: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float) -> bool:
    """Whether the upper band was begun right after a stroke of the lower one, right of
    its middle and at most REACH beyond its end, and is narrow enough for a script: a
    superscript written on from its base (see the module doc). A band begun that way
    below is the next line, begun under the end of a short one."""
    first = upper[0]
    if first - 1 not in lower:
        return False
    width = boxes[upper, 2].max() - boxes[upper, 0].min()
    x0, _, x1, _ = boxes[first - 1]
    begins = boxes[first, 0]
    return bool((x0 + x1) / 2 <= begins <= x1 + REACH * unit and width <= SCRIPT * unit)


def _high_script(boxes: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float) -> bool:
    """Whether the upper band, at most SCRIPT wide, begins right of the middle of the
    lower band's last box or of a big sign in it (BIG high: an integral's upper limit is
    written beside it), at most REACH beyond its end and STACK above it, and is a symbol
    smaller than that box and than a unit (2 TINY high or more: no stray bar): in a
    picture, a superscript written high (`_writes_on` without the writing order). A line's
    first symbol, or a denominator of the line above, is as tall as the symbols it sits by."""
    heights = boxes[lower, 3] - boxes[lower, 1]
    bases = lower[(heights >= BIG * unit) | (boxes[lower, 2] == boxes[lower, 2].max())]
    begins, bottom = boxes[upper, 0].min(), boxes[upper, 3].max()
    width = boxes[upper, 2].max() - begins
    height = bottom - boxes[upper, 1].min()
    x0, y0, x1, y1 = boxes[bases].T
    beside = ((x0 + x1) / 2 <= begins) & (begins <= x1 + REACH * unit) & (height < y1 - y0)
    beside &= y0 - bottom <= STACK * unit
    small = 2 * TINY * unit <= height < unit
    return bool(beside.any() and width <= SCRIPT * unit and small)


def chunk_ranges(spans: np.ndarray, height: float, max_aspect: float) -> list[tuple[int, int]]:
    """[first, end) ranges of the sorted, disjoint (start, end) spans, one per chunk."""
    left, right = float(spans[0, 0]), float(spans[-1, 1])
    limit = max_aspect * height
    if height <= 0:
        return [(0, len(spans))]
    widths = spans[1:, 0] - spans[:-1, 1]  # gap j lies after span j
    ranges, first, start = [], 0, left
    while right - start > limit and first < len(spans) - 1:
        target = (right - start) / math.ceil((right - start) / limit)  # an even share
        candidates = np.arange(first, len(spans) - 1)
        reach = spans[candidates, 1] - start  # the chunk's width when cut after span j
        miss = np.abs(reach - target)
        fits = (reach >= 0.5 * target) & (reach <= min(1.5 * target, limit))
        if fits.any():  # the widest gap; of equal ones, the nearest to an even share
            cut = candidates[fits][np.lexsort((miss[fits], -widths[candidates[fits]]))[0]]
        else:  # no gap near the ideal place: the nearest one
            cut = candidates[np.argmin(miss)]
        ranges.append((first, int(cut) + 1))
        first, start = int(cut) + 1, float(spans[cut + 1, 0])
    ranges.append((first, len(spans)))
    return ranges


def _merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping or touching intervals merged: (m, 2) spans in order, and each
    interval's span index."""
    order = np.argsort(starts, kind="stable")
    reach = np.maximum.accumulate(ends[order])
    opens = np.concatenate([[True], starts[order][1:] > reach[:-1]])
    span_of = np.empty(len(starts), dtype=np.int64)
    span_of[order] = np.cumsum(opens) - 1
    firsts = np.flatnonzero(opens)
    lasts = np.concatenate([firsts[1:], [len(order)]]) - 1
    return np.column_stack([starts[order][firsts], reach[lasts]]), span_of


def _covering(wide: np.ndarray, narrow: np.ndarray, unit: float) -> np.ndarray:
    """Which boxes of `wide` are bar-like and span COVER of `narrow`'s whole width, or are
    big and centred on `narrow`.

    Bar-like: FLAT times wider than high and at most THIN high (a fraction bar, an
    overline, a hat; not a root with its long overline, whose box is tall). Big: BIG
    units high (a sum, product or integral sign), with `narrow`'s centre within CENTRED of
    the wider one's width from its centre and at most LIMITS times the sign's larger side
    wide: limits are written centred, and may be wider than the sign, but not a
    line. A root is big too, but what is written below it is off its centre. Two
    ordinary symbols one above the other are neither.
    """
    width, height = wide[:, 2] - wide[:, 0], wide[:, 3] - wide[:, 1]
    x0, x1 = narrow[:, 0].min(), narrow[:, 2].max()
    overlap = np.minimum(wide[:, 2], x1) - np.maximum(wide[:, 0], x0)
    flat = (width >= FLAT * height) & (height <= THIN * unit)
    bar = flat & (overlap >= 0) & (overlap >= COVER * (x1 - x0))
    offset = np.abs((wide[:, 0] + wide[:, 2]) - (x0 + x1)) / 2
    centred = offset <= CENTRED * np.maximum(width, x1 - x0)
    big = (height >= BIG * unit) & centred & (x1 - x0 <= LIMITS * np.maximum(width, height))
    return bar | big


def _attach(
    boxes: np.ndarray, lines: list[np.ndarray], tiny: np.ndarray, *, ordered: bool
) -> list[np.ndarray]:
    """Give each tiny box to the line whose vertical extent is nearest its centre; in
    ink, to the nearer of the lines of the strokes written just before and after it: an
    i's dot goes with its stem even where the line above comes closer to it."""
    tops = np.array([boxes[line, 1].min() for line in lines])
    bottoms = np.array([boxes[line, 3].max() for line in lines])
    centres = (boxes[tiny, 1] + boxes[tiny, 3])[:, np.newaxis] / 2
    distance = np.maximum(tops - centres, 0) + np.maximum(centres - bottoms, 0)
    if ordered and len(tiny):
        line_of = np.zeros(len(boxes), dtype=np.int64)
        for k, line in enumerate(lines):
            line_of[line] = k
        written = np.sort(np.concatenate(lines))
        after = np.searchsorted(written, tiny)  # the first larger stroke written after it
        neighbours = written[
            np.column_stack([np.maximum(after - 1, 0), np.minimum(after, len(written) - 1)])
        ]
        allowed = np.zeros(distance.shape, dtype=bool)
        rows = np.arange(len(tiny))[:, np.newaxis]
        allowed[rows, line_of[neighbours]] = True
        distance = np.where(allowed, distance, np.inf)
    nearest = distance.argmin(axis=1)
    return [np.sort(np.concatenate([line, tiny[nearest == k]])) for k, line in enumerate(lines)]
