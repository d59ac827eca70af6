"""A picture and the ink over it become one image, in the picture's own pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mathpad.imaging.annotate import annotate
from mathpad.ink.strokes import Ink, Stroke


def test_the_ink_lands_on_the_picture_at_its_pixel_coordinates() -> None:
    picture = Image.new("L", (200, 100), 255)
    picture.putpixel((10, 10), 0)  # the picture's own content stays
    ink = Ink((Stroke(np.array([[50.0, 50.0], [150.0, 50.0]])), Stroke(np.array([[20.0, 80.0]]))))
    out = np.asarray(annotate(picture, ink, line_width=4.0))
    assert out.shape == (100, 200, 3)
    assert out[10, 10].tolist() == [0, 0, 0]
    assert out[50, 100].tolist() == [0, 0, 0]  # on the stroke
    assert out[50, 48].tolist() == [0, 0, 0]  # its round end
    assert out[44, 100].tolist() == [255, 255, 255]  # off it: 4 px wide, not more
    assert out[80, 20].tolist() == [0, 0, 0]  # a dot
    assert picture.getpixel((100, 50)) == 255  # the original is untouched


def test_transparent_and_16_bit_pictures_are_flattened_first() -> None:
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    assert np.asarray(annotate(clear, Ink(()), 2.0)).min() == 255  # onto white, as the card
    deep = Image.fromarray(np.full((20, 20), 65535, dtype=np.uint16))
    assert np.asarray(annotate(deep, Ink(()), 2.0)).min() == 255


@pytest.mark.parametrize("width", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_width_is_refused(width: float) -> None:
    with pytest.raises(ValueError, match="line_width"):
        annotate(Image.new("L", (4, 4), 255), Ink(()), width)


def test_ink_beside_the_picture_grows_the_image_instead_of_being_cut_off() -> None:
    picture = Image.new("L", (100, 50), 255)
    picture.putpixel((0, 0), 0)
    ink = Ink((Stroke(np.array([[-20.0, 10.0], [-20.0, 30.0]])), Stroke(np.array([[130.0, 70.0]]))))
    out = np.asarray(annotate(picture, ink, line_width=4.0))
    assert out.shape == (50 + 2 + 20, 20 + 2 + 100 + 30 + 2, 3)  # 72 rows, 154 columns
    assert out[0, 22].tolist() == [0, 0, 0]  # the picture's corner, moved by the margin
    assert out[20, 2].tolist() == [0, 0, 0]  # the stroke on the left
    assert out[70, 152].tolist() == [0, 0, 0]  # the dot below right
