"""A picture's one cleanup: shadows, pencil, specks, paper texture, dark mode, clean crops.

The photos are built here: strokes drawn with Pillow on paper given a shadow, grain or
specks with numpy, so the right answer is known.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from mathpad.imaging.cleanup import clean_picture, crop
from mathpad.imaging.pieces import image_pieces
from mathpad.imaging.split import image_line_groups

SIZE = (600, 300)


def strokes(draw: ImageDraw.ImageDraw, fill: int, width: int = 5) -> None:
    """'x + y' written large across the middle, ten strokes."""
    for x in (60, 330):
        draw.line([(x, 100), (x + 80, 200)], fill=fill, width=width)
        draw.line([(x + 80, 100), (x, 200)], fill=fill, width=width)
    draw.line([(200, 150), (270, 150)], fill=fill, width=width)
    draw.line([(235, 115), (235, 185)], fill=fill, width=width)
    draw.line([(470, 100), (500, 150)], fill=fill, width=width)
    draw.line([(530, 100), (480, 230)], fill=fill, width=width)


def page(ink: int = 20, paper: int = 235, blur: float = 1.0) -> np.ndarray:
    image = Image.new("L", SIZE, paper)
    strokes(ImageDraw.Draw(image), ink)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float64)


def photo(values: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8)).convert("RGB")


def shadow() -> np.ndarray:
    """A phone's soft shadow: the right half of the paper falls to 45% of its light."""
    ramp = np.clip((np.arange(SIZE[0]) - 200) / 250, 0, 1)
    return np.tile(1 - 0.55 * ramp, (SIZE[1], 1))


def components(image: Image.Image) -> int:
    return len(clean_picture(image).boxes)


def test_a_soft_shadow_is_flattened_and_the_strokes_stay_whole() -> None:
    shaded = photo(page() * shadow())
    clean = clean_picture(shaded)
    assert len(clean.boxes) == components(photo(page())) == 5  # 'x', '+', 'x', 'y' in two
    assert len(image_line_groups(clean)) == 1
    whole = np.asarray(crop(clean, np.arange(len(clean.boxes))))
    assert whole[0].min() == 255 and whole[:, -1].min() == 255  # paper white, shadow gone
    right = np.asarray(crop(clean, np.array([len(clean.boxes) - 1])))  # the 'y' in the shade
    assert right.min() == 0


def test_grey_pencil_strokes_are_kept_whole_to_their_faint_edges() -> None:
    pencil = photo(page(ink=150, paper=225, blur=1.5))
    clean = clean_picture(pencil)
    assert len(clean.boxes) == 5
    inked = (clean.ends - clean.starts).sum()
    drawn = (page(ink=150, paper=225, blur=1.5) < 215).sum()  # everything visibly darker
    assert inked >= 0.9 * drawn


def test_specks_and_paper_grain_are_not_ink_but_dots_near_the_writing_are() -> None:
    rng = np.random.default_rng(0)
    values = page() + rng.normal(0, 4, (SIZE[1], SIZE[0]))  # grain
    for x, y in [(10, 10), (580, 20), (300, 280), (20, 280)]:  # specks far from the ink
        values[y : y + 3, x : x + 3] = 40
    values[70:78, 500:508] = 20  # a dot close above the 'y': an i's dot, say
    clean = clean_picture(photo(values))
    assert len(clean.boxes) == 6
    assert len(image_pieces(photo(values))) == 1


def test_a_faint_smudge_is_dirt_even_next_to_the_writing() -> None:
    values = page()
    values[205:215, 240:252] = 160  # a grey smudge just under the '+'
    assert components(photo(values)) == 5


def test_dark_mode_is_inverted_before_anything_else() -> None:
    light = clean_picture(photo(page()))
    dark = clean_picture(photo(255 - page()))
    assert np.array_equal(light.boxes, dark.boxes)
    assert np.asarray(crop(dark, np.arange(len(dark.boxes))))[0, 0] == 255


def test_a_crop_holds_its_own_ink_only_and_all_of_it() -> None:
    """Two lines whose boxes overlap: a descender of the first reaches into the second's
    box. Each line's crop has exactly its own ink pixels."""
    image = Image.new("L", (400, 260), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(20, 20), (60, 80)], fill=0, width=4)
    draw.line([(60, 20), (20, 80)], fill=0, width=4)
    draw.line([(300, 20), (300, 170)], fill=0, width=4)  # a long descender
    for x in (260, 330):
        draw.line([(x, 160), (x + 40, 230)], fill=0, width=4)
    picture = image.convert("RGB")
    clean = clean_picture(picture)
    lines = image_line_groups(clean)
    inked = [int((np.asarray(crop(clean, line)) < 128).sum()) for line in lines]
    assert sum(inked) == int((np.asarray(image) < 128).sum())


def test_an_integral_with_limits_under_and_over_it_is_one_expression() -> None:
    """The model card's own demo shape: a tall integral sign, a lower limit written under
    it and an upper one over it (further than TOUCH), then the integrand."""
    image = Image.new("L", (700, 400), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(110, 80), (90, 100), (80, 300), (60, 320)], fill=0, width=6)  # the sign
    draw.line([(70, 40), (110, 40)], fill=0, width=5)  # upper limit (a bar for infinity)
    draw.line([(40, 370), (60, 370)], fill=0, width=5)  # lower limit: '-' ...
    draw.line([(75, 360), (115, 380)], fill=0, width=5)  # ... and a stroke
    for x in (160, 260, 400, 500):  # the integrand
        draw.line([(x, 160), (x + 60, 240)], fill=0, width=6)
        draw.line([(x + 60, 160), (x, 240)], fill=0, width=6)
    assert len(image_pieces(image.convert("RGB"))) == 1
