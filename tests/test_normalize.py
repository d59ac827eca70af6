"""Loaded and pasted pictures made model-ready: trimmed, dark on white, padded to 3:2."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mathpad.imaging.normalize import MAX_SIDE, normalize_image


def picture(
    size: tuple[int, int], boxes: list[tuple[int, int, int, int]], ink: object, paper: object
) -> Image.Image:
    image = Image.new("RGB", size, paper)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.rectangle(box, fill=ink)  # type: ignore[arg-type]
    return image


def gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(gray(image) < 128)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_trims_to_the_ink_with_a_margin_and_pads_centred_to_three_by_two() -> None:
    source = picture((400, 300), [(100, 100, 199, 139)], "black", "white")  # 100 x 40 of ink
    result = normalize_image(source)
    assert result.mode == "RGB"
    assert result.size == (104, 69)  # 5% of the height around 100 x 40, then the height grows
    x0, y0, x1, y1 = ink_box(result)
    assert (x1 - x0, y1 - y0) == (100, 40)
    assert x0 == 2 and abs(y0 - (69 - y1)) <= 1  # centred vertically


def test_a_tall_picture_grows_in_width_not_height() -> None:
    result = normalize_image(picture((300, 300), [(140, 20, 159, 219)], "black", "white"))
    assert result.height == 200 + 2 * 10 and result.width == 330


def test_dark_mode_screenshots_are_inverted_to_dark_ink_on_white() -> None:
    stroke = [(50, 50, 149, 57)]  # a pen stroke 8 px wide
    light = normalize_image(picture((300, 200), stroke, (20, 20, 20), "white"))
    dark = normalize_image(picture((300, 200), stroke, (235, 235, 235), (30, 30, 30)))
    assert gray(dark)[0, 0] == 255
    assert np.array_equal(gray(dark), gray(light))


def test_bold_ink_filling_most_of_the_picture_is_not_mistaken_for_dark_mode() -> None:
    result = normalize_image(picture((100, 100), [(5, 5, 94, 94)], "black", "white"))
    assert gray(result)[50, 50] == 0 and gray(result)[0, 0] == 255


def test_grey_paper_and_pale_coloured_ink_become_white_and_black() -> None:
    source = picture((300, 200), [(50, 50, 149, 57)], (150, 170, 230), (225, 225, 215))
    result = gray(normalize_image(source))  # a pale pen stroke 8 px wide
    assert result[0, 0] == 255 and set(np.unique(result)) == {0, 255}  # paper white, ink black
    assert (result == 0).sum() == 100 * 8


@pytest.mark.parametrize("paper", ["white", "black", (128, 128, 128)])
def test_a_blank_picture_comes_back_white_and_three_by_two(paper: object) -> None:
    result = normalize_image(Image.new("RGB", (200, 50), paper))  # type: ignore[arg-type]
    assert result.size == (200, 133) and gray(result).min() == 255


def test_faint_noise_is_not_ink() -> None:
    noise = np.random.default_rng(0).integers(230, 256, size=(60, 90, 3), dtype=np.uint8)
    assert gray(normalize_image(Image.fromarray(noise))).min() == 255


def test_a_very_wide_picture_is_shrunk_instead_of_padded_to_gigabytes() -> None:
    source = picture((30_000, 40), [(10, 10, 29_989, 29)], "black", "white")
    result = normalize_image(source)
    assert max(result.size) <= MAX_SIDE
    assert abs(result.width / result.height - 1.5) < 0.01
    assert gray(result).min() == 0
