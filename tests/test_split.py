"""Pages split into expressions and long expressions chunked, for ink and for pictures.

Inks are built from crosses (two strokes in a box), bars and a sum sign, with positions
chosen so that the right answer is known; pictures are those inks rendered, shapes drawn
with Pillow, and formulas typeset by matplotlib's mathtext.
"""

from __future__ import annotations

import io
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from matplotlib import mathtext
from PIL import Image, ImageDraw

from mathpad.errors import InputError
from mathpad.imaging.pieces import image_pieces, ink_pieces, save_pieces
from mathpad.imaging.raster import render_ink
from mathpad.imaging.split import (
    chunk_image,
    chunk_ink,
    line_groups,
    split_image_lines,
    split_ink_lines,
    writing_runs,
)
from mathpad.ink.inkml import read_inkml
from mathpad.ink.strokes import Ink, Stroke

DATA = Path(__file__).parent / "data" / "ink"


def cross(x: float, y: float, w: float = 40, h: float = 60) -> list[Stroke]:
    """A symbol: two crossing strokes filling the box at (x, y)."""
    return [
        Stroke(np.array([[x, y], [x + w, y + h]])),
        Stroke(np.array([[x + w, y], [x, y + h]])),
    ]


def bar(x0: float, x1: float, y: float) -> list[Stroke]:
    return [Stroke(np.array([[x0, y], [(x0 + x1) / 2, y + 1], [x1, y]]))]


def sigma(x: float, y: float, w: float = 60, h: float = 80) -> list[Stroke]:
    zigzag = [[x + w, y], [x, y], [x + w / 2, y + h / 2], [x, y + h], [x + w, y + h]]
    return [Stroke(np.array(zigzag))]


def ink(*parts: list[Stroke]) -> Ink:
    return Ink(tuple(stroke for part in parts for stroke in part))


def row(
    x: float, y: float, count: int, step: float = 60, w: float = 40, h: float = 60
) -> list[Stroke]:
    """`count` crosses left to right, `step` apart."""
    return [s for i in range(count) for s in cross(x + i * step, y, w, h)]


def fraction_over_equals(y: float) -> list[Stroke]:
    """'= a/b': the bar 25 below the numerator and above the denominator."""
    return [
        *bar(100, 140, y + 60),
        *bar(100, 140, y + 72),
        *cross(180, y, 40, 40),
        *bar(160, 240, y + 65),
        *cross(180, y + 90, 40, 40),
    ]


def stroke_sets(parts: list[Ink]) -> list[set[bytes]]:
    return [{s.points.tobytes() for s in part.strokes} for part in parts]


def typeset(tex: str, dpi: int = 300) -> Image.Image:
    buffer = io.BytesIO()
    mathtext.math_to_image(tex, buffer, dpi=dpi, format="png")
    image = Image.open(buffer).convert("RGBA")
    page = Image.new("RGBA", image.size, "white")
    return Image.alpha_composite(page, image).convert("RGB")


def stacked(*images: Image.Image, gap: int) -> Image.Image:
    page = Image.new("RGB", (max(i.width for i in images), sum(i.height + gap for i in images)))
    page.paste("white", (0, 0, *page.size))
    top = 0
    for image in images:
        page.paste(image, (0, top))
        top += image.height + gap
    return page


# --- lines of ink ---------------------------------------------------------------------------


def test_a_single_expression_comes_back_unchanged() -> None:
    drawing = Ink(tuple(row(0, 0, 3)), {"label": "xxx"})
    assert split_ink_lines(drawing) == [drawing]
    assert split_ink_lines(Ink(())) == []


def test_two_lines_split_top_to_bottom_keeping_writing_order() -> None:
    first, second = row(0, 0, 3), row(0, 100, 4)  # 40 apart: two thirds of a symbol
    drawing = ink(second, first)  # the lower line written first
    lines = split_ink_lines(drawing)
    assert [line.strokes for line in lines] == [tuple(first), tuple(second)]


def test_a_fraction_stays_one_expression_though_its_gaps_exceed_the_touch_distance() -> None:
    lines = split_ink_lines(ink(fraction_over_equals(0), row(0, 230, 3)))
    assert [len(line.strokes) for line in lines] == [7, 6]


def test_without_its_bar_a_numerator_and_denominator_are_separate_lines() -> None:
    """The bar is what holds a fraction together: the same gaps without it split."""
    numerator, denominator = cross(180, 0, 40, 40), cross(180, 90, 40, 40)
    assert len(split_ink_lines(ink(numerator, denominator))) == 2
    assert len(split_ink_lines(ink(numerator, bar(160, 240, 65), denominator))) == 1


def test_a_nested_fraction_and_a_hat_stay_whole() -> None:
    nested = ink(
        cross(200, 0, 40, 40),
        bar(150, 290, 65),
        cross(200, 90, 40, 40),
        bar(180, 260, 155),
        cross(200, 180, 40, 40),
    )
    assert len(split_ink_lines(nested)) == 1
    hat = [Stroke(np.array([[0.0, 20], [20, 0], [40, 20]]))]
    assert len(split_ink_lines(ink(hat, cross(0, 40)))) == 1


def test_a_sum_keeps_limits_written_apart_from_it() -> None:
    limits = ink(
        cross(20, 70, 20, 20),  # n above
        sigma(0, 100),
        row(-10, 195, 3, step=30, w=20, h=20),  # i=1 below, wider than the sign
        cross(80, 110, 40, 60),  # the summand
    )
    assert len(split_ink_lines(limits)) == 1


def test_dots_join_the_line_they_belong_to() -> None:
    i_dot = [Stroke(np.array([[10.0, 5.0]]))]
    stem = [Stroke(np.array([[10.0, 30.0], [10.0, 90.0]]))]
    period = [Stroke(np.array([[200.0, 88.0]]))]
    second = row(0, 160, 3)
    lines = split_ink_lines(ink(i_dot, stem, row(40, 30, 2), period, second))
    assert [len(line.strokes) for line in lines] == [7, 6]


def test_a_twenty_line_page_splits_in_reading_order() -> None:
    lines = [row(0, 100 * k, 3 + k % 4) for k in range(20)]
    page = ink(*reversed(lines))
    assert [stroke_sets([ink(line)])[0] for line in lines] == stroke_sets(split_ink_lines(page))


@pytest.mark.parametrize(("name", "count"), [("x_squared", 1), ("fraction", 1), ("two_lines", 2)])
def test_the_hand_written_files_split_as_written_as_ink_and_as_pictures(
    name: str, count: int
) -> None:
    drawing = read_inkml(DATA / f"{name}.inkml")
    assert len(split_ink_lines(drawing)) == count
    assert len(split_image_lines(render_ink(drawing, layout="tight"))) == count


# --- chunks of ink --------------------------------------------------------------------------


def test_a_long_expression_is_cut_at_its_widest_gaps() -> None:
    """Three groups of five symbols, 70 apart; 980 wide by 60 high cuts into three."""
    groups = [row(x, 0, 5) for x in (0, 350, 700)]
    chunks = chunk_ink(ink(*groups))
    assert stroke_sets(chunks) == stroke_sets([ink(group) for group in groups])


def test_chunks_are_no_wider_than_six_times_the_height_and_never_cut_a_symbol() -> None:
    drawing = ink(row(0, 0, 40))  # 2380 wide, 60 high: at least seven chunks
    chunks = chunk_ink(drawing)
    assert len(chunks) == 7
    widths = [part.bounds()[2] - part.bounds()[0] for part in chunks]
    assert max(widths) <= 6 * 60
    symbols = stroke_sets([Ink(tuple(drawing.strokes[i : i + 2])) for i in range(0, 80, 2)])
    pieces = stroke_sets(chunks)
    assert all(sum(symbol <= piece for piece in pieces) == 1 for symbol in symbols)
    assert set().union(*pieces) == set().union(*symbols)


def test_a_fraction_bar_over_the_widest_gap_is_never_cut() -> None:
    """The widest gap of all lies between the numerator's two symbols; the bar spans it."""
    fraction = [*cross(400, 0, 40, 40), *cross(560, 0, 40, 40), *bar(390, 610, 60)]
    fraction += cross(480, 80, 40, 40)
    drawing = ink(row(0, 40, 6), fraction, row(650, 40, 6))
    chunks = chunk_ink(drawing)
    assert len(chunks) > 1
    whole = {s.points.tobytes() for s in fraction}
    assert any(whole <= piece for piece in stroke_sets(chunks))


def test_an_expression_that_fits_or_cannot_be_cut_comes_back_whole() -> None:
    short = ink(row(0, 0, 5))
    assert chunk_ink(short) == [short]
    one_stroke = Ink((Stroke(np.array([[0.0, 0.0], [3000.0, 10.0], [0.0, 20.0]])),))
    assert chunk_ink(one_stroke) == [one_stroke]
    assert chunk_ink(Ink(())) == []


# --- pictures -------------------------------------------------------------------------------


def drawn(boxes: list[tuple[int, int, int, int]], size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.rectangle(box, fill="black")
    return image


def test_picture_lines_split_at_blank_bands_in_reading_order() -> None:
    first = [(20 + 40 * i, 20, 45 + 40 * i, 60) for i in range(6)]
    second = [(20 + 40 * i, 100, 45 + 40 * i, 140) for i in range(3)]
    crops = split_image_lines(drawn(first + second, (300, 170)))
    assert len(crops) == 2
    assert crops[0].width > crops[1].width  # six symbols, then three
    assert all(crop.mode == "RGB" for crop in crops)


def test_a_drawn_fraction_with_a_bar_is_one_expression() -> None:
    fraction = [(60, 10, 90, 40), (20, 55, 130, 57), (60, 72, 90, 102)]
    assert len(split_image_lines(drawn(fraction, (150, 120)))) == 1
    assert len(split_image_lines(drawn([fraction[0], fraction[2]], (150, 120)))) == 2


@pytest.mark.parametrize(
    "tex",
    [
        r"$\frac{a+b}{c+d}$",
        r"$\sum_{i=1}^{n} x_i^2$",
        r"$\sqrt{\frac{1}{x}}+\hat{y}$",
        # a snipped paper's big operators: their limits reach 0.4-0.5 of the sign's height
        r"$\prod_{k=1}^{N} a_k$",
        r"$\sum_{k=0}^{\infty} x^k$",
        r"$\sum_{j=1}^{n} j$",
        r"$\bigcup_{i=1}^{n} A_i$",
    ],
)
def test_typeset_formulas_are_one_expression(tex: str) -> None:
    assert len(split_image_lines(typeset(tex))) == 1


def test_typeset_lines_stacked_with_normal_spacing_split_in_order() -> None:
    lines = [typeset(r"$x+y=1$"), typeset(r"$\frac{a}{b}=2$"), typeset(r"$z-1=0$")]
    crops = split_image_lines(stacked(*lines, gap=25))
    assert len(crops) == 3
    assert crops[1].height > crops[0].height  # the fraction line is the tall one


def test_dark_mode_pictures_split_into_dark_on_light_crops() -> None:
    page = stacked(typeset(r"$x+y=1$"), typeset(r"$z-1=0$"), gap=30)
    crops = split_image_lines(Image.eval(page, lambda v: 255 - v))
    assert len(crops) == 2
    assert all(np.asarray(crop.convert("L"))[0, 0] == 255 for crop in crops)


def test_a_blank_picture_has_no_expressions() -> None:
    blank = Image.new("RGB", (300, 200), "white")
    assert split_image_lines(blank) == [] and chunk_image(blank) == []
    assert image_pieces(blank) == []


def test_picture_chunks_cut_at_blank_columns_but_not_under_a_bar() -> None:
    symbols = [(10 + 40 * i, 40, 35 + 40 * i, 80) for i in range(30)]
    symbols[12:14] = [(490, 10, 520, 30), (590, 10, 620, 30)]  # a numerator, 70 apart
    symbols.append((480, 40, 630, 42))  # its bar
    chunks = chunk_image(drawn(symbols, (1230, 100)))
    assert len(chunks) > 1
    assert any(chunk.width >= 150 for chunk in chunks)  # the fraction, whole
    inked = sum(int((np.asarray(c.convert("L")) < 128).sum()) for c in chunks)
    assert inked == int((np.asarray(drawn(symbols, (1230, 100)).convert("L")) < 128).sum())


def test_a_fifty_thousand_pixel_wide_picture_chunks_in_bounded_memory() -> None:
    width = 50_000
    page = Image.new("RGB", (width, 120), "white")
    draw = ImageDraw.Draw(page)
    for x in range(20, width - 60, 50):
        draw.line([(x, 30), (x + 30, 90)], fill="black", width=3)
        draw.line([(x + 30, 30), (x, 90)], fill="black", width=3)
    tracemalloc.start()
    began = time.perf_counter()
    pieces = image_pieces(page)
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(pieces) == 1 and len(pieces[0]) >= width // (6 * 61)
    assert all(abs(p.width / p.height - 1.5) < 0.02 and p.width < 1000 for p in pieces[0])
    assert peak < 400 * 2**20 and seconds < 10


# --- pieces ---------------------------------------------------------------------------------


def test_ink_pieces_are_one_list_per_line_of_model_ready_images() -> None:
    drawing = read_inkml(DATA / "two_lines.inkml")
    pieces = ink_pieces(drawing)
    assert [len(group) for group in pieces] == [1, 1]
    assert all(p.mode == "RGB" and abs(p.width / p.height - 1.5) < 0.01 for p in pieces[0])
    tight = ink_pieces(drawing, layout="tight", target_height=100)[0][0]
    assert tight.width == 1.5 * 100 + 20 and tight.height < 100  # wide: fitted by its width
    assert ink_pieces(Ink(())) == []


def test_image_pieces_of_a_long_typeset_line_are_chunks_padded_to_three_by_two() -> None:
    line = typeset(r"$" + "+".join(f"x_{{{i}}}" for i in range(30)) + "$")
    pieces = image_pieces(line)
    assert len(pieces) == 1 and len(pieces[0]) > 1
    assert all(abs(p.width / p.height - 1.5) < 0.02 for p in pieces[0])


# --- families found on real handwriting (benchmarks/bench_real_ink.py) ----------------------
# Each ink is written in the order a person writes it: the order is part of the test.


def shifted(strokes: list[Stroke], dx: float, dy: float) -> list[Stroke]:
    return [Stroke(s.points + np.array([dx, dy, 0.0])) for s in strokes]


def test_a_superscript_written_high_above_its_base_stays_with_it() -> None:
    """'3y^3': the exponent written right after the y, just right of it, a whole symbol
    height above the line (further than TOUCH)."""
    base = cross(0, 100) + cross(60, 100)
    exponent = cross(105, 0, 30, 40)
    assert len(split_ink_lines(ink(base, exponent))) == 1


def test_a_limit_written_far_under_lim_before_the_function_stays_with_it() -> None:
    """'lim_{x->0} f': the limit is written between 'lim' and the function."""
    lim = row(0, 0, 3, step=45)
    limit = row(0, 130, 3, step=45, w=30, h=40)  # 70 below: more than a character's height
    function = row(180, 0, 2)
    assert len(split_ink_lines(ink(lim, limit, function))) == 1


def test_a_denominator_written_far_below_its_bar_right_after_it_stays() -> None:
    numerator = row(0, 0, 3)
    fraction_bar = bar(-10, 170, 80)
    denominator = row(40, 180, 2)  # 100 below the bar: over STACK, under STACK_NEAR
    assert len(split_ink_lines(ink(numerator, fraction_bar, denominator))) == 1
    # the same shapes with the denominator written long after the bar: two lines
    later = ink(numerator, fraction_bar, row(300, 0, 4), denominator)
    assert len(split_ink_lines(later)) == 2


def test_a_line_begun_right_of_the_last_symbol_is_not_taken_for_its_script() -> None:
    """A fraction's numerator begun far right of the line above, just after it."""
    first = ink(cross(0, 0), bar(-10, 50, 70), cross(0, 80))
    second = ink(cross(240, 220), bar(140, 420, 300), row(140, 320, 4))
    assert len(split_ink_lines(ink(first.strokes, second.strokes))) == 2


def test_a_root_ending_a_line_does_not_hold_the_next_line_under_it() -> None:
    """The root sign with its long overline is the last stroke written; the next line
    begins right under it, one character height down."""
    radicand = row(60, 30, 4)
    root = [Stroke(np.array([[0.0, 60], [20, 100], [40, 0], [300, 0]]))]
    below = row(0, 160, 3)
    assert len(split_ink_lines(ink(radicand, root, below))) == 2


def test_a_wide_symbol_beginning_a_line_does_not_hold_the_symbol_above() -> None:
    """An infinity-like stroke (1.8:1) written first on a line, under the last symbol of
    the line above, 0.8 character heights down."""
    above = row(0, 0, 3)
    infinity = [Stroke(np.array([[100.0, 108], [150, 140], [190, 108], [150, 130], [100, 140]]))]
    rest = row(220, 108, 3, h=40)
    assert len(split_ink_lines(ink(above, infinity, rest))) == 2


def test_a_minus_beginning_a_line_under_the_last_symbol_is_a_new_line() -> None:
    above = row(0, 0, 3)
    minus = bar(110, 170, 110)
    rest = row(190, 90, 3)
    assert len(split_ink_lines(ink(above, minus, rest))) == 2


def test_lines_as_close_as_a_loose_fraction_are_told_apart_by_the_page_pitch() -> None:
    """Three lines 50 apart; the middle one holds a fraction whose bar sits 30 under a
    numerator written long before it (geometry only): it stays whole, being under the
    page's line spacing, while every line break at 50 is kept."""
    lines = [
        row(0, 0, 4),
        [*row(0, 110, 2), *row(140, 80, 3), *row(130, 140, 2), *bar(120, 320, 114)],
        row(0, 250, 4),
    ]
    parts = split_ink_lines(ink(*lines))
    assert stroke_sets(parts) == stroke_sets([ink(line) for line in lines])


# --- pieces ---------------------------------------------------------------------------------


def test_save_pieces_writes_what_the_model_saw_one_png_per_piece(tmp_path: Path) -> None:
    pieces = [image for line in ink_pieces(read_inkml(DATA / "two_lines.inkml")) for image in line]
    paths = save_pieces(tmp_path / "seen", pieces, "two_lines")
    assert [p.name for p in paths] == ["two_lines-1.png", "two_lines-2.png"]
    assert [Image.open(p).tobytes() for p in paths] == [p.tobytes() for p in pieces]


def test_on_a_page_a_gap_as_wide_as_its_line_spacing_is_no_fraction() -> None:
    """Picture boxes (geometry only): a lone symbol 0.9 character heights over a long bar
    would be its numerator, but the page's lines are 0.83 apart, so it is a line."""
    boxes = np.array(
        [
            (0, 0, 40, 60),  # the lone symbol
            (-10, 114, 200, 116),  # the bar, 54 below it
            *((x, 130, x + 40, 190) for x in (0, 60, 120)),
            *((x, 240, x + 40, 300) for x in (0, 60)),  # the next line, 50 below
        ]
    )
    assert [g.tolist() for g in line_groups(boxes)] == [[0], [1, 2, 3, 4], [5, 6]]


def test_a_root_sign_does_not_hold_what_is_under_its_left_end() -> None:
    """A root sign's box is big, but a line under it sits off its centre: no limits."""
    boxes = np.array(
        [
            (0, 0, 300, 110),  # the root with its overline
            *((x, 40, x + 40, 100) for x in (60, 120, 180, 240)),
            *((x, 150, x + 40, 210) for x in (0, 50)),  # the next line, 40 below
        ]
    )
    assert len(line_groups(boxes)) == 2


def test_save_pieces_into_a_folder_that_cannot_be_made_is_one_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match=r"cannot save the pieces in .*file"):
        save_pieces(blocker / "seen", [Image.new("RGB", (3, 2), "white")], "x")


@pytest.mark.parametrize("above", [(0, 5), (140, 2)])
def test_a_root_beginning_a_line_never_holds_the_line_above(above: tuple[float, int]) -> None:
    """A root begun under the end of the line above: its overline, written right after
    that line's last stroke, covers it and has the radicand under it, like a fraction
    bar; but the root's tick meets it, and a root holds no numerator, whether the line
    above is wider or lies within its overline's ends."""
    x, count = above
    check = [Stroke(np.array([[80, 150], [95, 190], [110, 120]]))]
    page = ink(row(x, 0, count), check, bar(110, 300, 120), cross(200, 130))
    assert [len(line.strokes) for line in split_ink_lines(page)] == [2 * count, 4]


@pytest.mark.parametrize(("above", "lines"), [((0, 5), [10, 3]), ((140, 2), [7])])
def test_a_bar_beginning_a_line_holds_the_line_above_only_within_its_ends(
    above: tuple[float, int], lines: list[int]
) -> None:
    """A fraction bar written right after the last stroke above, with a denominator under
    it: a line sticking out far left of it is the line above, what lies within its ends
    its numerator."""
    x, count = above
    page = ink(row(x, 0, count), bar(110, 300, 120), cross(200, 130))
    assert [len(line.strokes) for line in split_ink_lines(page)] == lines


# Found on pages built from the real inks (bench_real_ink.py): each line below is written
# right after the one above, so its first strokes come right after the last ones above.


def test_a_letter_whose_bar_begins_a_line_does_not_hold_the_symbol_above() -> None:
    """A 'T' beginning a line under a fraction's denominator: its bar was written right
    after that denominator and has the T's own stem under it, like a fraction bar with a
    numerator before and a denominator after it; but the stem touches the bar."""
    above = ink(cross(0, 0), bar(-10, 50, 70), cross(0, 80))
    stem = [Stroke(np.array([[60.0, 188], [60, 248]]))]
    letter = ink(stem, bar(0, 120, 188), cross(140, 188))
    assert len(split_ink_lines(ink(above.strokes, letter.strokes))) == 2
    # a fraction bar standing apart, written the same way, holds its numerator
    fraction = ink(above.strokes, bar(-10, 120, 188), cross(30, 200))
    assert len(split_ink_lines(fraction)) == 1


def test_a_bar_holds_what_is_next_to_the_bar_itself_not_to_its_band() -> None:
    """A fraction beside a tall bracket is one band down to its denominator; the next
    line's lone numerator sits 0.8 character heights under that band, but twice that
    under the bar, which holds its own numerator and denominator."""
    bracket = [Stroke(np.array([[-40.0, 0], [-60, 70], [-40, 140]]))]
    first = ink(bracket, cross(0, 0), bar(-10, 50, 70), cross(0, 80))
    second = ink(cross(0, 188), bar(-10, 50, 258), cross(0, 268))
    assert len(split_ink_lines(ink(first.strokes, second.strokes))) == 2


def test_a_line_begun_under_the_end_of_a_short_one_is_no_script() -> None:
    """A numerator begun right after the last symbol above, right of its middle, 0.8
    character heights below it: a script is written on upward, a new line below."""
    first = row(0, 0, 2)
    second = ink(cross(85, 108), bar(75, 135, 178), cross(85, 188))
    assert len(split_ink_lines(ink(first, second.strokes))) == 2


def test_a_tall_digit_ending_a_line_holds_no_limits_under_it() -> None:
    """A denominator as tall as a sum sign, the next line begun centred under it, right
    after it, 1.2 character heights down: limits are written closer to their sign."""
    eight = [Stroke(np.array([[50.0, 80], [0, 80], [25, 125], [0, 170], [50, 170]]))]
    first = ink(cross(0, 0), bar(-10, 50, 70), eight)
    second = ink(cross(5, 242), bar(-5, 55, 312), cross(5, 322))
    assert len(split_ink_lines(ink(first.strokes, second.strokes))) == 2


def test_a_bar_no_wider_than_a_symbol_holds_nothing_far_under_it() -> None:
    """The underline of a '>=' (written before the 'a' after it) over the next line's
    first symbol, written right after the 'a', 1.2 character heights down."""
    greater = [Stroke(np.array([[60.0, 0], [100, 30], [60, 60]]))]
    a = [Stroke(np.array([[120.0, 0], [160, 60]]))]
    first = ink(cross(0, 0), greater, bar(60, 100, 75), a)
    second = ink(cross(60, 148), bar(50, 110, 218), cross(60, 228))
    assert len(split_ink_lines(ink(first.strokes, second.strokes))) == 2


def test_a_dot_goes_with_the_strokes_written_around_it() -> None:
    """An i's dot nearer to the line above than to its own line's top."""
    first = row(0, 0, 3)
    stem = [Stroke(np.array([[10.0, 130], [10, 190]]))]
    dot = [Stroke(np.array([[10.0, 92]]))]
    second = [*stem, *dot, *row(40, 130, 2)]
    lines = split_ink_lines(ink(first, second))
    assert stroke_sets(lines) == stroke_sets([ink(first), ink(second)])


# The clock. CROHME inks have none (every t is 0), so these rules are tried only here; the
# pad's canvas and MathWriting files record each point's time in milliseconds.


def timed(strokes: list[Stroke], pause_before: int | None = None) -> Ink:
    """The strokes written one after another, 20 ms a point and 200 ms between strokes,
    with a pause of 1.5 s before the stroke at `pause_before`."""
    timed_strokes, t = [], 0.0
    for k, stroke in enumerate(strokes):
        t += 1500.0 if k == pause_before else 0.0
        times = t + 20 * np.arange(len(stroke.points))
        timed_strokes.append(Stroke(np.column_stack([stroke.xy, times])))
        t = times[-1] + 200
    return Ink(tuple(timed_strokes))


def test_writing_runs_begin_after_a_pause_and_an_ink_without_a_clock_is_one_run() -> None:
    strokes = row(0, 0, 3)
    assert writing_runs(timed(strokes)).tolist() == [0] * 6
    assert writing_runs(timed(strokes, pause_before=4)).tolist() == [0, 0, 0, 0, 1, 1]
    assert writing_runs(ink(strokes)).tolist() == [0] * 6  # no clock
    backwards = Ink((*timed(strokes[3:]).strokes, *timed(strokes[:3]).strokes))
    assert writing_runs(backwards).tolist() == [0] * 6  # two timed inks joined


def test_a_pause_parts_a_new_line_from_the_bar_written_just_before_it() -> None:
    """'x = ___', a blank to fill in, and the next line begun under the blank, 0.8
    character heights below the line. By order alone, what is written right after a long
    bar, under it, is its denominator (written far below); a pause of 1.5 s before it
    says a new line was begun."""
    first = [*cross(0, 0), *bar(60, 100, 20), *bar(60, 100, 40), *bar(120, 300, 50)]
    second = row(180, 108, 3)
    assert len(split_ink_lines(timed(first + second, pause_before=len(first)))) == 2
    assert len(split_ink_lines(timed(first + second))) == 1  # written on without a stop
    assert len(split_ink_lines(ink(first, second))) == 1  # no clock: order alone


def test_a_denominator_written_far_below_its_bar_without_a_pause_stays() -> None:
    numerator, fraction_bar, denominator = row(0, 0, 3), bar(-10, 170, 80), row(40, 180, 2)
    assert len(split_ink_lines(timed(numerator + fraction_bar + denominator))) == 1


def test_a_superscript_fraction_holds_its_own_denominator_not_the_next_line() -> None:
    """'2^(N/2)': the superscript's denominator shares its base's band; the next line's
    first symbol, written right after that denominator, sits under the bar too."""
    base = [Stroke(np.array([[0.0, 30], [40, 30], [0, 110], [40, 110]]))]
    denominator = [Stroke(np.array([[80.0, 55], [110, 55], [80, 95], [110, 95]]))]
    superscript = ink(cross(70, 0, 40, 40), bar(50, 150, 45), denominator)
    second = ink(cross(80, 158), bar(60, 140, 228), cross(80, 238))
    page = ink(base, superscript.strokes, second.strokes)
    assert [len(line.strokes) for line in split_ink_lines(page)] == [5, 5]


def test_a_tall_letter_holds_no_limits_written_long_after_it() -> None:
    """A 'y' with its long tail, as tall as a sum sign, begins a line under the last
    symbol above (written right before it, like an upper limit); the next line's first
    symbol, a lone exponent, sits centred under it 0.8 character heights down."""
    tall_y = [Stroke(np.array([[50.0, 120], [75, 180], [100, 120], [75, 240]]))]
    page = ink(row(0, 0, 2), tall_y, row(120, 120, 3), cross(55, 288, 40, 40), row(0, 342, 3))
    assert [len(line.strokes) for line in split_ink_lines(page)] == [4, 7, 8]


def test_a_one_digit_fraction_keeps_a_denominator_written_loosely_under_it() -> None:
    """'7/6' with a bar one symbol wide and the 6 written right after it, 0.7 character
    heights below: a short bar holds what is written next to it up to STACK."""
    assert len(split_ink_lines(ink(cross(0, 0), bar(-10, 50, 70), cross(0, 113)))) == 1


# --- pictures of one expression found on real handwriting drawn as pictures -----------------
# A picture has no writing order: these rules see the components' boxes alone.


def picture_lines(*boxes: tuple[float, float, float, float]) -> int:
    return len(line_groups(np.array(boxes, dtype=float)))


def test_a_picture_of_two_fractions_with_denominators_far_below_their_bars_is_whole() -> None:
    """'V/T = nR/P': each denominator 1.5 symbols below its bar, so the band of both
    denominators is wider than either bar covers."""
    numerators = [(0, 0, 40, 60), (60, 0, 100, 60), (230, 0, 270, 60), (290, 0, 330, 60)]
    bars_and_equals = [(-10, 70, 110, 74), (150, 80, 190, 83), (150, 95, 190, 98)]
    second_bar = [(220, 70, 340, 74)]
    denominators = [(20, 164, 60, 224), (260, 164, 300, 224)]
    assert picture_lines(*numerators, *bars_and_equals, *second_bar, *denominators) == 1
    # without the numerators the bars are minus signs: the lower symbols are a new line
    assert picture_lines(*bars_and_equals, *second_bar, *denominators) == 2


def test_a_picture_bar_with_nothing_or_its_own_denominator_holds_no_next_line() -> None:
    """An equals sign's lower bar has only a bar above it, a long minus has nothing, and a
    fraction keeps its own denominator: the line 1.1 symbols under them is a new one."""
    next_line = [(40, 164, 80, 224), (100, 164, 140, 224)]
    equals = [(0, 0, 40, 60), (50, 20, 170, 24), (50, 36, 170, 40), (180, 0, 220, 60)]
    assert picture_lines(*equals, *next_line) == 2
    minus = [(0, 0, 40, 60), (50, 28, 170, 32), (180, 0, 220, 60)]
    assert picture_lines(*minus, *next_line) == 2
    fraction = [(60, 0, 100, 60), (0, 70, 160, 74), (60, 80, 100, 120)]
    assert (
        picture_lines(*fraction, *[(x0, y0 + 22, x1, y1 + 22) for x0, y0, x1, y1 in next_line]) == 2
    )


def test_a_picture_superscript_written_high_on_the_end_of_its_line_stays_with_it() -> None:
    """'3y^3': the exponent a whole symbol above the line, begun just right of the y."""
    line = [(0, 100, 40, 160), (60, 100, 100, 160)]
    assert picture_lines(*line, (105, 0, 135, 40)) == 1
    # begun over the y, far right of it, more than a symbol above it, as tall as the y (a
    # denominator of the line above), a stray bar, or a line too wide for a script: a line
    assert picture_lines(*line, (70, 0, 100, 40)) == 2
    assert picture_lines(*line, (105, -40, 135, 0)) == 2
    assert picture_lines(*line, (105, 0, 145, 60)) == 2
    assert picture_lines(*line, (105, 36, 145, 40)) == 2
    assert picture_lines(*line, (200, 0, 230, 40)) == 2
    assert picture_lines(*line, *[(105 + 50 * i, 0, 135 + 50 * i, 40) for i in range(4)]) == 2


def test_a_picture_integral_keeps_an_upper_limit_written_high_beside_it() -> None:
    """'int^2 x dx': the limit half a symbol above the line, begun right of the sign's
    middle; a symbol as tall as the line's symbols there is a line above."""
    line = [(0, 100, 40, 160), (60, 80, 120, 180), (140, 100, 180, 160), (200, 100, 240, 160)]
    assert picture_lines(*line, (125, 20, 150, 50)) == 1
    assert picture_lines(*line, (125, 0, 165, 60), (185, 0, 225, 60)) == 2


def test_a_picture_fraction_beginning_a_line_keeps_its_numerator_not_the_line_above() -> None:
    """The bar's band holds its numerator and denominator (the '= x' after it spans both):
    the short line 0.8 symbols above it, which the bar spans, is a line of its own. With
    no numerator in its band the bar holds the symbols 0.8 symbols above the band: its
    numerator."""
    above = [(0, 0, 40, 60), (60, 0, 100, 60)]
    bar, denominator = (0, 178, 120, 182), (40, 190, 80, 250)
    rest = [(140, 150, 180, 210), (200, 150, 240, 210)]
    assert picture_lines(*above, (20, 110, 60, 170), bar, denominator, *rest) == 2
    numerator = [(x0, y0 + 40, x1, y1 + 40) for x0, y0, x1, y1 in above]
    assert picture_lines(*numerator, bar, denominator, *rest) == 1


def test_a_picture_minus_in_a_line_holds_no_line_under_it() -> None:
    """'a - b' over a line 0.7 symbols under it that the minus spans: a minus has nothing
    above it; a fraction bar in a line with its numerator over it holds its denominator."""
    next_line = [(60, 100, 100, 160), (120, 100, 160, 160)]
    minus = [(0, 0, 40, 60), (50, 28, 170, 32), (180, 0, 220, 60)]
    assert picture_lines(*minus, *next_line) == 2
    fraction = [(0, 0, 40, 60), (90, -10, 130, 45), (50, 50, 170, 54), (180, 0, 220, 60)]
    assert picture_lines(*fraction, (90, 80, 130, 140)) == 1
