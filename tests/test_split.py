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

from mathpad.imaging.pieces import image_pieces, ink_pieces
from mathpad.imaging.raster import render_ink
from mathpad.imaging.split import chunk_image, chunk_ink, split_image_lines, split_ink_lines
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
    "tex", [r"$\frac{a+b}{c+d}$", r"$\sum_{i=1}^{n} x_i^2$", r"$\sqrt{\frac{1}{x}}+\hat{y}$"]
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
