"""Small, varied test images for the fixtures, drawn deterministically with Pillow.

They cover the image modes the engine must accept (RGB, L, 1, RGBA, LA, P with and
without a transparency entry), several sizes and aspect ratios, and stroke shapes that
look a little like handwriting, so a random-weight model sees clearly different inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PIL import Image, ImageDraw

Point = tuple[float, float]
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def has_transparency(image: Image.Image) -> bool:
    """Whether mathpad composites the image onto white instead of a plain RGB conversion."""
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert an image to RGB the way mathpad does before preprocessing.

    Images carrying transparency are alpha-composited onto opaque white with
    `Image.alpha_composite`; every other mode is converted with `convert("RGB")`.
    """
    if has_transparency(image):
        white = Image.new("RGBA", image.size, (*WHITE, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def _wave(x0: float, x1: float, y: float, amplitude: float, periods: float) -> list[Point]:
    steps = 48
    return [
        (
            x0 + (x1 - x0) * i / steps,
            y + amplitude * math.sin(2 * math.pi * periods * i / steps),
        )
        for i in range(steps + 1)
    ]


def _sum_sign(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(44, 10), (12, 10), (30, 32), (12, 54), (44, 54)], fill=BLACK, width=5)
    draw.line([(60, 20), (84, 48)], fill=BLACK, width=4)
    draw.line([(84, 20), (60, 48)], fill=BLACK, width=4)
    draw.line([(96, 14), (104, 8), (110, 16), (98, 28), (112, 28)], fill=BLACK, width=3)
    draw.line([(124, 34), (150, 34)], fill=BLACK, width=3)
    draw.line([(137, 22), (137, 46)], fill=BLACK, width=3)


def _fraction(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(14, 48), (82, 48)], fill=0, width=5)
    draw.ellipse([(34, 10), (58, 36)], outline=0, width=5)
    draw.line([(30, 62), (48, 84), (66, 62)], fill=40, width=6)


def _long_expression(draw: ImageDraw.ImageDraw) -> None:
    draw.line(_wave(6, 120, 24, 12, 2.5), fill=BLACK, width=4)
    draw.line([(132, 18), (150, 18)], fill=BLACK, width=3)
    draw.line([(132, 30), (150, 30)], fill=BLACK, width=3)
    draw.line(_wave(162, 312, 24, 8, 4), fill=BLACK, width=3)


def _column(draw: ImageDraw.ImageDraw) -> None:
    for top in (8, 52, 96):
        draw.rectangle([(8, top), (30, top + 30)], outline=0, width=4)
    draw.line([(6, 44), (34, 48)], fill=0, width=3)


def _alpha_strokes(draw: ImageDraw.ImageDraw) -> None:
    draw.line(_wave(8, 112, 40, 22, 1.5), fill=(0, 0, 0, 255), width=6)
    draw.line([(20, 12), (60, 68)], fill=(20, 20, 120, 140), width=8)
    draw.ellipse([(78, 10), (112, 44)], outline=(0, 0, 0, 90), width=7)


def _la_strokes(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(8, 40), (24, 8), (40, 40)], fill=(0, 255), width=5)
    draw.line([(14, 26), (34, 26)], fill=(60, 200), width=4)
    draw.arc([(44, 8), (70, 40)], start=300, end=60, fill=(0, 120), width=5)


def _integral(draw: ImageDraw.ImageDraw) -> None:
    draw.arc([(20, 8), (52, 50)], start=180, end=330, fill=(20, 40, 160), width=5)
    draw.line([(36, 28), (36, 74)], fill=(20, 40, 160), width=5)
    draw.arc([(20, 52), (52, 94)], start=0, end=150, fill=(20, 40, 160), width=5)
    draw.ellipse([(70, 34), (120, 70)], outline=(20, 40, 160), width=5)
    draw.line([(140, 30), (190, 76)], fill=(20, 40, 160), width=4)
    draw.line([(190, 30), (140, 76)], fill=(20, 40, 160), width=4)


def _tiny(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(3, 12), (8, 3), (13, 12)], fill=BLACK, width=2)
    draw.line([(16, 4), (21, 12)], fill=BLACK, width=2)


def _dots(draw: ImageDraw.ImageDraw) -> None:
    for cx, cy, r in ((16, 20, 5), (40, 20, 5), (64, 20, 5), (28, 56, 8), (56, 56, 3)):
        draw.ellipse([(cx - r, cy - r), (cx + r, cy + r)], fill=0)


def _palette_strokes(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(10, 50), (30, 10), (50, 50)], fill=1, width=5)
    draw.line([(60, 12), (90, 48)], fill=2, width=5)
    draw.line([(90, 12), (60, 48)], fill=2, width=5)


def _inverted(draw: ImageDraw.ImageDraw) -> None:
    draw.line(_wave(10, 130, 30, 14, 1), fill=WHITE, width=6)
    draw.line([(20, 50), (120, 10)], fill=(230, 230, 230), width=3)


def _palette(transparent: bool) -> Image.Image:
    # The transparent entry is black, so ignoring the transparency gives a black page.
    background = (0, 0, 0) if transparent else WHITE
    image = Image.new("P", (100, 60) if transparent else (130, 60), 0)
    image.putpalette([*background, *BLACK, 30, 30, 200])
    _palette_strokes(ImageDraw.Draw(image))
    if transparent:
        image.info["transparency"] = 0
    return image


def _drawn(
    mode: str,
    size: tuple[int, int],
    background: object,
    paint: Callable[[ImageDraw.ImageDraw], None],
) -> Image.Image:
    image = Image.new(mode, size, background)
    paint(ImageDraw.Draw(image))
    return image


def make_images() -> dict[str, Image.Image]:
    """Return the fixture images by file name, in a fixed order."""
    return {
        "sum_rgb.png": _drawn("RGB", (160, 64), WHITE, _sum_sign),
        "fraction_l.png": _drawn("L", (96, 96), 255, _fraction),
        "wide_rgb.png": _drawn("RGB", (320, 48), WHITE, _long_expression),
        "tall_l.png": _drawn("L", (40, 140), 255, _column),
        # Transparent pixels are black, so a plain convert("RGB") would give a black page.
        "strokes_rgba.png": _drawn("RGBA", (120, 80), (0, 0, 0, 0), _alpha_strokes),
        "strokes_la.png": _drawn("LA", (72, 48), (0, 0), _la_strokes),
        "palette_trns_p.png": _palette(transparent=True),
        "palette_p.png": _palette(transparent=False),
        "integral_rgb.png": _drawn("RGB", (200, 100), (250, 246, 230), _integral),
        "tiny_rgb.png": _drawn("RGB", (24, 16), WHITE, _tiny),
        "dots_1.png": _drawn("1", (80, 80), 1, _dots),
        "inverted_rgb.png": _drawn("RGB", (140, 60), (10, 10, 10), _inverted),
    }
