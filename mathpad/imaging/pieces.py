"""What the recognizer calls: a drawing or a picture to model-ready images.

One list per expression, in reading order, holding the image of each chunk left to right;
the recognizer joins a list's results into one LaTeX string. Nothing to recognize (an empty
drawing, a blank picture) gives an empty list rather than an error. A picture is cleaned
once (`cleanup.py`); its lines and chunks are cut from that one clean image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from mathpad.files import save_image
from mathpad.imaging.cleanup import clean_picture, crop
from mathpad.imaging.normalize import fit_for_model
from mathpad.imaging.raster import Layout, render_ink
from mathpad.imaging.split import chunk_groups, chunk_ink, image_line_groups, split_ink_lines
from mathpad.ink.strokes import Ink


def ink_pieces(
    ink: Ink, *, layout: Layout = "3:2", target_height: float | None = None
) -> list[list[Image.Image]]:
    """Split into lines, chunk each, render each chunk (see `render_ink` for the scale)."""
    return [
        [render_ink(chunk, target_height=target_height, layout=layout) for chunk in chunk_ink(line)]
        for line in split_ink_lines(ink)
    ]


def image_pieces(image: Image.Image) -> list[list[Image.Image]]:
    """Clean a loaded or pasted RGB picture once, split it into lines, chunk each, pad each
    chunk to 3:2."""
    clean = clean_picture(image)
    return [
        [fit_for_model(crop(clean, line[chunk])) for chunk in chunk_groups(clean.boxes[line])]
        for line in image_line_groups(clean)
    ]


def save_pieces(folder: Path, images: Sequence[Image.Image], stem: str) -> list[Path]:
    """Write what the model saw, one PNG per piece (`stem-1.png`, ...), into `folder`
    (made if missing); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}-{number}.png" for number in range(1, len(images) + 1)]
    for image, path in zip(images, paths, strict=True):
        save_image(image, path)
    return paths
