"""mathtext rendering to PNG bytes, and the plain notice when it cannot render."""

import io
import re
import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from mathpad.errors import InputError
from mathpad.render import ACCENT, MARKS_SUPPORTED, RenderError, render_png, render_svg


def _image(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_renders_a_png_of_the_stated_size() -> None:
    out = render_png(r"x^{2}+\frac{1}{2}")
    image = Image.open(io.BytesIO(out.png))
    assert image.format == "PNG"
    assert image.size == (out.width, out.height)


def test_dpi_scales_the_picture() -> None:
    small = render_png("x+1", dpi=100)
    large = render_png("x+1", dpi=200)
    assert large.width == pytest.approx(2 * small.width, rel=0.15)
    assert large.height == pytest.approx(2 * small.height, rel=0.15)


def test_transparent_by_default_and_ink_in_the_asked_color() -> None:
    pixels = _image(render_png("x", color="#ff0000").png)
    assert pixels[0, 0, 3] == 0
    inked = pixels[pixels[..., 3] == 255]
    assert len(inked) and (inked[:, :3] == [255, 0, 0]).all()


def test_background_makes_an_opaque_picture() -> None:
    pixels = _image(render_png("x", background="white").png)
    assert (pixels[..., 3] == 255).all()
    assert tuple(pixels[0, 0]) == (255, 255, 255, 255)
    assert pixels[..., 0].min() < 64  # black ink is there


def test_lines_are_stacked() -> None:
    one = render_png("x+1")
    two = render_png("x+1\ny+2")
    assert two.height > 1.8 * one.height


@pytest.mark.parametrize(
    ("latex", "reason"),
    [
        (r"\begin{foo} x \end{foo}", r"mathtext does not know \begin"),
        ("x^", "the expression ends before it is complete"),
        (r"\frac{1}", r"expected \frac{num}{den} at character 6"),
        ("x}", "a } has no opening {"),
        (r"\{x}", "a } has no opening {"),
        ("x_{2", "a { is never closed"),
        ("a\\\u00e9", "mathtext cannot read it"),
        ("  ", "there is nothing to render"),
    ],
)
def test_unrenderable_latex_says_why(latex: str, reason: str) -> None:
    with pytest.raises(RenderError) as info:
        render_png(latex)
    assert info.value.reason == reason
    assert isinstance(info.value, InputError)
    assert str(info.value) == f"The preview cannot show this LaTeX: {reason}."


def test_rendering_from_several_threads_is_safe() -> None:
    expected = render_png(r"\sqrt{x}+\alpha").png
    results: list[bytes] = []

    def work() -> None:
        results.extend(render_png(r"\sqrt{x}+\alpha").png for _ in range(5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 20


def _alpha(latex: str, **kwargs: object) -> np.ndarray:
    return _image(render_png(latex, dpi=100, **kwargs).png)[..., 3].astype(int)  # type: ignore[arg-type]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask as (first, last + 1)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _row_bands(alpha: np.ndarray) -> list[np.ndarray]:
    """The picture cut into its bands of inked rows."""
    return [alpha[a:b] for a, b in _runs(alpha.max(axis=1) > 0)]


@pytest.mark.parametrize(
    "latex",
    [
        r"\begin{matrix} a & b \\ c & d \end{matrix}",
        r"A = \begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
        r"\begin{bmatrix} 1 \\ 2 \end{bmatrix} \begin{Bmatrix} x \end{Bmatrix}",
        r"\begin{vmatrix} a & b \\ c & d \end{vmatrix} = ad - bc",
        r"\begin{Vmatrix} x \end{Vmatrix}",
        r"|x| = \begin{cases} x & x \ge 0 \\ -x & x < 0 \end{cases}",
        r"\left[ \begin{array}{c|c} 1 & 2 \end{array} \right]",
        "\\begin{aligned}\na &= b \\\\\n&= c\n\\end{aligned}",
        r"\begin{gathered} x \\ y = 2 \end{gathered}",
        r"\begin{align*} f &= g \end{align*}",
        r"\begin{smallmatrix} a & b \end{smallmatrix}",
        r"\left\langle \begin{matrix} u \end{matrix} \right\rangle",
    ],
)
def test_environments_are_drawn(latex: str) -> None:
    out = render_png(latex)
    assert out.width > 0 and out.height > 0


def test_matrix_rows_line_up_in_columns() -> None:
    top, bottom = _row_bands(_alpha(r"\begin{matrix} x & 10 \\ x & 10 \end{matrix}"))
    assert top.shape == bottom.shape
    assert np.abs(top - bottom).max() <= 1


def test_aligned_rows_line_up_at_the_relation() -> None:
    top, bottom = _row_bands(_alpha(r"\begin{aligned} x &= 1 \\ xxxx &= 1 \end{aligned}"))
    top_cols, bottom_cols = _runs(top.max(axis=0) > 0), _runs(bottom.max(axis=0) > 0)
    assert top_cols[-2:] == bottom_cols[-2:]  # "=" and "1" at the same columns
    assert top_cols[0][0] > bottom_cols[0][0]  # the short left side ends where the long one does


def test_delimiters_grow_with_the_rows() -> None:
    def bracket_height(latex: str) -> int:
        alpha = _alpha(latex)
        first = np.flatnonzero(alpha.max(axis=0))[0]
        (run,) = _runs(alpha[:, first + 1] > 0)
        return run[1] - run[0]

    one = bracket_height(r"\begin{bmatrix} 1 \end{bmatrix}")
    three = bracket_height(r"\begin{bmatrix} 1 \\ 2 \\ 3 \end{bmatrix}")
    assert three > 2.5 * one
    inked = _runs(_alpha(r"\begin{bmatrix} 1 \\ 2 \\ 3 \end{bmatrix}").max(axis=1) > 0)
    assert three >= 0.95 * (inked[-1][1] - inked[0][0])  # the bracket spans the block


def test_an_environment_sits_on_the_math_axis_of_its_line() -> None:
    alpha = _alpha(r"- \begin{matrix} a \\ b \end{matrix} -")
    minus_rows = _runs(alpha[:, : alpha.shape[1] // 8].max(axis=1) > 0)
    bands = _row_bands(alpha[:, alpha.shape[1] // 3 : 2 * alpha.shape[1] // 3])
    assert len(minus_rows) == 1 and len(bands) == 2
    minus_centre = sum(minus_rows[0]) / 2
    a_rows, b_rows = _runs(alpha[:, alpha.shape[1] // 3 : 2 * alpha.shape[1] // 3].max(axis=1) > 0)
    block_centre = (a_rows[0] + b_rows[1]) / 2
    assert abs(minus_centre - block_centre) <= 0.1 * (b_rows[1] - a_rows[0])


def test_spacing_commands_before_an_environment_keep_their_width() -> None:
    narrow = render_png(r"x \begin{matrix} 1 \end{matrix}").width
    wide = render_png(r"x \qquad \begin{matrix} 1 \end{matrix}").width
    em = 20 * 100 / 72
    assert wide - narrow == pytest.approx(2 * em, abs=2)


@pytest.mark.skipif(not MARKS_SUPPORTED, reason="mathtext before matplotlib 3.11 has no \\phantom")
def test_a_mark_colours_its_symbol_and_nothing_else() -> None:
    latex = r"a + \frac{b}{c}"
    plain = _image(render_png(latex, color="black").png).astype(int)
    marked = _image(render_png(latex, color="black", marks=[(10, 11)]).png).astype(int)
    assert plain.shape == marked.shape
    assert np.abs(plain[..., 3] - marked[..., 3]).max() <= 1  # same layout, same coverage
    changed = np.abs(plain[..., :3] - marked[..., :3]).max(axis=2) > 8
    ys, xs = np.nonzero(changed)
    assert len(xs)
    accent = np.array([int(ACCENT[i : i + 2], 16) for i in (1, 3, 5)])
    solid = marked[..., 3] == 255
    assert (np.abs(marked[solid & changed][:, :3] - accent) <= 2).all()
    # only the numerator b changed: above the fraction bar, right of a and +
    columns = _runs(plain[..., 3].max(axis=0) > 0)
    assert xs.min() >= columns[-1][0]
    bands = _runs(plain[:, columns[-1][0] :, 3].max(axis=1) > 0)
    assert ys.max() < bands[1][0]  # b's rows end before the bar's


def test_marks_on_no_symbol_change_nothing() -> None:
    latex = r"x \quad \frac{y}{2}"
    assert render_png(latex, marks=[(1, 14)]).png == render_png(latex).png  # \quad, \frac, {


def test_svg_has_the_layout_of_the_png() -> None:
    latex = r"A = \begin{pmatrix} a & b \\ c & d \end{pmatrix}"
    svg = render_svg(latex, color="#0000ff")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    png = render_png(latex, dpi=72)
    size = [float(re.sub("pt$", "", root.attrib[k])) for k in ("width", "height")]
    assert size == pytest.approx([png.width, png.height], abs=1)
    assert b"#0000ff" in svg and len(root.findall(".//{*}path")) >= 6


def test_svg_refuses_what_the_png_refuses() -> None:
    with pytest.raises(RenderError):
        render_svg("x^")
