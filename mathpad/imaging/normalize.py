"""Pictures to what the model saw in training: dark ink on white, trimmed, padded to 3:2.

A loaded file, a pasted screenshot and a crop of either all pass through here. Dark-mode
screenshots are inverted, the background is lifted to pure white and the darkest ink pulled
to black (a levels stretch), so coloured or pale ink looks like the training images' black
pen. A picture with no ink is not an error here: it comes back white, and the splitter
finds no expressions in it, which is what the recognizer reports.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

TARGET_ASPECT = 1.5  # width:height 3:2, what the model card recommends
MIN_CONTRAST = 40  # grey levels between background and darkest pixel; less is a blank picture
INK_LEVEL = 128  # after the stretch, pixels darker than mid-grey are ink
MARGIN_FRACTION = 0.05  # of the ink's height: the rendered ink's 10 px around 200 px
MIN_MARGIN = 2
MAX_SIDE = 4096  # the model looks at 384 px; larger padded pictures only cost memory


def to_dark_on_light(image: Image.Image) -> Image.Image:
    """Grey ("L") copy with white background and black ink, whatever the polarity.

    The background is the median of the outermost pixels: a screenshot's edges are
    background even when the formula itself is large or bold.
    """
    gray = np.asarray(image.convert("L"))
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = int(np.median(border))
    if background < 128:  # light ink on a dark background
        gray, background = 255 - gray, 255 - background
    darkest = int(gray.min())
    if background - darkest < MIN_CONTRAST:
        return Image.new("L", image.size, 255)
    levels = np.arange(256, dtype=np.float64)
    stretch = np.clip((levels - darkest) * 255 / (background - darkest), 0, 255)
    return Image.fromarray(np.rint(stretch).astype(np.uint8)[gray])


def ink_mask(gray: Image.Image) -> np.ndarray:
    """Boolean (H, W) array of ink pixels in a dark-on-light grey picture."""
    return np.asarray(gray) < INK_LEVEL


def content_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), ends exclusive, around every ink pixel; None when there is none."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def trim(gray: Image.Image) -> Image.Image:
    """Crop a dark-on-light grey picture to its ink with a white margin (blank: unchanged).

    The margin follows the height only: a long line must not gain thousands of blank rows.
    """
    box = content_box(ink_mask(gray))
    if box is None:
        return gray
    margin = max(MIN_MARGIN, round(MARGIN_FRACTION * (box[3] - box[1])))
    return ImageOps.expand(gray.crop(box), border=margin, fill=255)


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


def fit_for_model(gray: Image.Image) -> Image.Image:
    """Trim, shrink if the padded result would pass MAX_SIDE, pad to 3:2, as RGB."""
    trimmed = trim(gray)
    longest = max(padded_size(*trimmed.size))
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        size = (max(1, int(trimmed.width * scale)), max(1, int(trimmed.height * scale)))
        trimmed = trimmed.resize(size, Image.Resampling.BOX)
    return pad_to_aspect(trimmed).convert("RGB")


def normalize_image(image: Image.Image) -> Image.Image:
    """A loaded or pasted RGB picture as a model-ready RGB image (see the module doc)."""
    return fit_for_model(to_dark_on_light(image))
