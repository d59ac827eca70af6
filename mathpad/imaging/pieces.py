"""What the recognizer calls: a drawing or a picture to model-ready images.

One list per expression, in reading order, holding the image of each chunk left to right;
the recognizer joins a list's results into one LaTeX string. Nothing to recognize (an empty
drawing, a blank picture) gives an empty list rather than an error.
"""

from __future__ import annotations

from PIL import Image

from mathpad.imaging.normalize import normalize_image
from mathpad.imaging.raster import TARGET_INK_HEIGHT, Layout, render_ink
from mathpad.imaging.split import chunk_image, chunk_ink, split_image_lines, split_ink_lines
from mathpad.ink.strokes import Ink


def ink_pieces(
    ink: Ink, *, layout: Layout = "3:2", target_height: float = TARGET_INK_HEIGHT
) -> list[list[Image.Image]]:
    """Split into lines, chunk each, render each chunk at `target_height`."""
    return [
        [render_ink(chunk, target_height=target_height, layout=layout) for chunk in chunk_ink(line)]
        for line in split_ink_lines(ink)
    ]


def image_pieces(image: Image.Image) -> list[list[Image.Image]]:
    """Split a loaded or pasted RGB picture into lines, chunk each, pad each chunk to 3:2."""
    return [
        [normalize_image(chunk) for chunk in chunk_image(line)] for line in split_image_lines(image)
    ]
