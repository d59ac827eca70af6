"""Ink rendering as in training: size, margins, line width, layout and invariance."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mathpad.cli import main
from mathpad.imaging.raster import (
    LINE_WIDTH,
    MARGIN,
    MAX_RENDER_SIDE,
    TARGET_SYMBOL_SIZE,
    render_ink,
    symbol_size,
)
from mathpad.ink.inkml import read_inkml
from mathpad.ink.strokes import Ink, Stroke

DATA = Path(__file__).parent / "data" / "ink"


def polyline(*xy: float) -> Stroke:
    return Stroke(np.array(xy, dtype=np.float64).reshape(-1, 2))


def darkness(image: Image.Image) -> np.ndarray:
    """Ink coverage per pixel, 0 (white) to 1 (black)."""
    return 1 - np.asarray(image.convert("L"), dtype=np.float64) / 255


def dark_box(image: Image.Image) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(darkness(image) > 0.5)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def moved(ink: Ink, scale: float, dx: float, dy: float) -> Ink:
    shift = np.array([dx, dy, 0.0])
    factor = np.array([scale, scale, 1.0])
    return Ink(tuple(Stroke(s.points * factor + shift) for s in ink.strokes))


def test_output_is_rgb_and_three_by_two_for_tall_and_wide_inks() -> None:
    for ink in (read_inkml(DATA / "fraction.inkml"), read_inkml(DATA / "two_lines.inkml")):
        image = render_ink(ink)
        assert image.mode == "RGB"
        assert abs(image.width / image.height - 1.5) < 0.01


def test_tight_layout_is_the_training_crop_with_symbols_at_the_training_size() -> None:
    tall = Ink((polyline(0, 0, 50, 100),))  # one stroke: its larger side becomes 140
    assert render_ink(tall, layout="tight").size == (70 + 20, 140 + 20)
    wide = Ink((polyline(0, 0, 300, 50),))  # 6:1: the same, no fitting into 3:2
    assert render_ink(wide, layout="tight").size == (140 + 20, 23 + 20)


def test_a_tall_fraction_and_a_flat_line_draw_their_symbols_the_same_size() -> None:
    """Scaling by the symbol size: a fraction three symbols tall is drawn three times as
    tall as a line of the same symbols, so the pen is as thick against each symbol as in
    training; a whole-height scale would make the fraction's symbols a third the size."""
    symbol = [polyline(0, 0, 40, 60), polyline(40, 0, 0, 60)]
    line = Ink(tuple(Stroke(s.points + np.array([60 * i, 0, 0])) for i in range(3) for s in symbol))
    below = (Stroke(s.points + np.array([0, 100, 0])) for s in symbol)
    fraction = Ink((*symbol, polyline(-20, 80, 60, 80), *below))
    assert symbol_size(line) == symbol_size(fraction) == 60
    for ink in (line, fraction):
        image = render_ink(ink, layout="tight")
        per_unit = (image.height - 2 * MARGIN) / (ink.bounds()[3] - ink.bounds()[1])
        assert per_unit == pytest.approx(TARGET_SYMBOL_SIZE / symbol_size(ink), rel=0.01)
    assert render_ink(fraction, layout="tight").height > 2 * render_ink(line, layout="tight").height


def test_a_drawing_too_large_at_the_symbol_scale_is_drawn_within_the_limit() -> None:
    dots_far_apart = Ink((polyline(0, 0, 1, 1), polyline(1e6, 0, 1e6 + 1, 1)))
    image = render_ink(dots_far_apart, layout="tight")
    assert max(image.size) <= MAX_RENDER_SIDE + 2 * MARGIN + 1


@pytest.mark.parametrize("height", [40.0, 100.0, 200.0, 400.0, 1000.0])
def test_ink_is_drawn_at_the_requested_height_inside_a_ten_pixel_margin(height: float) -> None:
    ink = read_inkml(DATA / "x_squared.inkml")  # taller than wide
    image = render_ink(ink, target_height=height, layout="tight")
    x0, y0, _, y1 = dark_box(image)
    assert image.height == int(height + 2 * MARGIN)
    assert abs((y1 - y0) - height) <= 2
    assert MARGIN - 1 <= y0 <= MARGIN and MARGIN - 1 <= x0 <= MARGIN


def test_strokes_are_one_and_a_half_pixels_wide_and_anti_aliased() -> None:
    image = render_ink(Ink((polyline(0, 0, 300, 0.3),)), layout="tight")
    column = darkness(image)[:, image.width // 2]
    assert column.sum() == pytest.approx(LINE_WIDTH, abs=0.05)
    assert ((column > 0.02) & (column < 0.98)).any()  # grey edges, not a hard line


def test_a_single_point_is_a_filled_disc_of_the_line_width() -> None:
    image = render_ink(Ink((Stroke(np.array([[7.0, 9.0, 0.0]])),)), layout="tight")
    assert image.size == (20, 20)
    assert darkness(image).sum() == pytest.approx(np.pi * (LINE_WIDTH / 2) ** 2, rel=0.05)
    padded = render_ink(Ink((Stroke(np.array([[7.0, 9.0]])),)))
    assert padded.size == (30, 20)


def test_a_stroke_that_never_moves_is_a_disc_too() -> None:
    still = render_ink(Ink((polyline(5, 5, 5, 5, 5, 5),)), layout="tight")
    dot = render_ink(Ink((polyline(5, 5),)), layout="tight")
    assert still.tobytes() == dot.tobytes() and darkness(dot).sum() > 1


def test_a_flat_ink_gets_a_sensible_size() -> None:
    minus = Ink((polyline(0, 0, 500, 0),))
    image = render_ink(minus)
    assert image.size == (160, 107)  # 140 units long, as a symbol in training
    assert darkness(image).sum() == pytest.approx(140 * LINE_WIDTH, rel=0.05)


def test_an_empty_ink_is_a_blank_image() -> None:
    image = render_ink(Ink(()))
    assert image.size == (30, 20) and darkness(image).max() == 0


def test_rendering_is_deterministic() -> None:
    ink = read_inkml(DATA / "two_lines.inkml")
    assert render_ink(ink).tobytes() == render_ink(ink).tobytes()


@pytest.mark.parametrize(("scale", "dx", "dy"), [(1, 1234, -567), (4, 0, 0), (0.25, -8, 16)])
def test_moving_or_scaling_the_ink_exactly_gives_the_same_bytes(
    scale: float, dx: float, dy: float
) -> None:
    ink = read_inkml(DATA / "x_squared.inkml")
    for layout in ("3:2", "tight"):
        reference = render_ink(ink, layout=layout)
        assert render_ink(moved(ink, scale, dx, dy), layout=layout).tobytes() == reference.tobytes()


def test_any_move_and_scale_gives_the_same_image_up_to_rounding() -> None:
    ink = read_inkml(DATA / "fraction.inkml")
    reference = darkness(render_ink(ink))
    other = darkness(render_ink(moved(ink, 3.7, 0.31, -1e5)))
    assert other.shape == reference.shape
    assert np.abs(other - reference).max() < 0.05


def test_bad_parameters_are_refused() -> None:
    """`mathpad render --height` refuses the same before any file is read (below)."""
    ink = Ink((polyline(0, 0, 1, 1),))
    for height in (0.0, -5.0, float("nan")):
        with pytest.raises(ValueError):
            render_ink(ink, target_height=height)
    with pytest.raises(ValueError):
        render_ink(ink, layout="square")  # type: ignore[arg-type]


def test_a_million_point_ink_renders_in_reasonable_time() -> None:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(1_000_000, 2)), axis=0)
    ink = Ink(tuple(Stroke(part) for part in np.split(walk, 100)))
    began = time.perf_counter()
    image = render_ink(ink)
    assert time.perf_counter() - began < 10
    assert max(image.size) <= MAX_RENDER_SIDE + 2 * MARGIN + 1


@pytest.mark.parametrize("height", ["nan", "inf", "0", "-1", "1e9", "tall"])
def test_render_refuses_a_height_that_is_not_a_size_in_one_line(
    height: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    with pytest.raises(SystemExit) as exited:
        main(["render", str(DATA / "fraction.inkml"), str(out), f"--height={height}"])
    assert exited.value.code == 2 and not out.exists()
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert errors == [
        f"mathpad render: error: argument --height: {height!r} is not a height: "
        f"give a number of pixels from 1 to {MAX_RENDER_SIDE}"
    ]


def test_render_draws_by_symbol_size_or_by_the_height_asked_for(tmp_path: Path) -> None:
    ink = str(DATA / "x_squared.inkml")
    assert main(["render", ink, str(tmp_path / "a.png"), "--layout", "tight"]) == 0
    assert main(["render", ink, str(tmp_path / "b.png"), "--layout=tight", "--height=100"]) == 0
    by_symbol = Image.open(tmp_path / "a.png")
    assert by_symbol.size == render_ink(read_inkml(ink), layout="tight").size
    assert Image.open(tmp_path / "b.png").height == 120
