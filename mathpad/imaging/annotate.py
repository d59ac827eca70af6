"""A picture with the ink written over it, as one image for the recognizer.

The pad lets a writer add to a pasted or opened picture (a missing exponent, a corrected
sign). The document keeps the ink in the picture's pixel coordinates, so the two become
one image by drawing the strokes onto a copy of the picture at those coordinates, black
with round ends, as thick as the writer saw them.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from mathpad.imaging.loading import to_8bit, to_rgb
from mathpad.ink.strokes import Ink

INK_COLOR = (0, 0, 0)


def annotate(picture: Image.Image, ink: Ink, line_width: float) -> Image.Image:
    """An RGB copy of `picture` with `ink` drawn on it, `line_width` picture pixels wide.

    Ink written beside the picture is kept: the image grows (white) to hold it. The
    picture is not changed; an empty ink gives the picture as RGB.
    """
    if not (math.isfinite(line_width) and line_width > 0):
        raise ValueError(f"line_width must be a positive number, got {line_width}")
    image = to_rgb(to_8bit(picture))
    if ink.is_empty:
        return image.copy()
    radius = line_width / 2
    x0, y0, x1, y1 = ink.bounds()
    width, height = image.size
    left, top = min(0, math.floor(x0 - radius)), min(0, math.floor(y0 - radius))
    right, bottom = max(width, math.ceil(x1 + radius)), max(height, math.ceil(y1 + radius))
    page = Image.new("RGB", (right - left, bottom - top), (255, 255, 255))
    page.paste(image, (-left, -top))
    draw = ImageDraw.Draw(page)
    thickness = max(1, round(line_width))
    for stroke in ink.strokes:
        points = [(float(x) - left, float(y) - top) for x, y in stroke.xy]
        if len(points) > 1:
            draw.line(points, fill=INK_COLOR, width=thickness, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps (and a dot for a single point)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=INK_COLOR)
    return page
