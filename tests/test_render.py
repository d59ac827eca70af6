"""mathtext rendering to PNG bytes, and the plain notice when it cannot render."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from mathpad.errors import InputError
from mathpad.render import RenderError, render_png


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
        (r"\begin{aligned} x &= 1 \end{aligned}", r"mathtext does not know \begin"),
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
