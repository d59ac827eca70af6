"""Pictures to what the model saw in training: dark ink on white, trimmed, padded to 3:2.

A loaded file, a pasted screenshot and a crop of either pass through `cleanup.py` once
(polarity, light, threshold, specks, levels); what comes out is padded here. A picture
with no ink is not an error: it comes back white, and the splitter finds no expressions in
it, which is what the recognizer reports.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mathpad.imaging.cleanup import clean_picture, crop

TARGET_ASPECT = 1.5  # width:height 3:2, what the model card recommends
MAX_SIDE = 4096  # the model looks at 384 px; larger padded pictures only cost memory


def padded_size(width: int, height: int, aspect: float = TARGET_ASPECT) -> tuple[int, int]:
    """The smallest size of the given aspect holding width x height: one side grows."""
    return max(width, round(height * aspect)), max(height, round(width / aspect))


def pad_to_aspect(image: Image.Image, aspect: float = TARGET_ASPECT) -> Image.Image:
    """Centre `image` on white of the given aspect; it is never cropped or scaled."""
    size = padded_size(*image.size, aspect)
    if size == image.size:
        return image
    canvas = Image.new(image.mode, size, "white")
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas


def fit_for_model(trimmed: Image.Image) -> Image.Image:
    """A trimmed grey crop shrunk if the padded result would pass MAX_SIDE, padded to 3:2,
    as RGB."""
    longest = max(padded_size(*trimmed.size))
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        size = (max(1, int(trimmed.width * scale)), max(1, int(trimmed.height * scale)))
        trimmed = trimmed.resize(size, Image.Resampling.BOX)
    return pad_to_aspect(trimmed).convert("RGB")


def normalize_image(image: Image.Image) -> Image.Image:
    """A loaded or pasted RGB picture as one model-ready RGB image (see the module doc)."""
    clean = clean_picture(image)
    if len(clean.boxes) == 0:
        return pad_to_aspect(Image.new("L", image.size, 255)).convert("RGB")
    return fit_for_model(crop(clean, np.arange(len(clean.boxes))))
