"""Opening user images: broken files fail with one clear line, odd but valid ones work."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mathpad.errors import InputError
from mathpad.imaging.loading import image_from_bytes, load_image, to_rgb


def _png_bytes(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


def _ink_picture(size: tuple[int, int] = (60, 40)) -> Image.Image:
    """Black ink on white: a diagonal bar, so orientation and colours can be checked."""
    pixels = np.full((size[1], size[0]), 255, dtype=np.uint8)
    for x in range(size[0] // 2):
        pixels[min(size[1] - 1, x * size[1] // size[0]), x] = 0
    return Image.fromarray(pixels, mode="L").convert("RGB")


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge size, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("this is not a picture"), "not an image"),
        (lambda p: p.write_bytes(_png_bytes(_ink_picture())[:60]), "damaged or truncated"),
        (lambda p: p.write_bytes(b""), "empty (0 bytes)"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(_bomb_png(40000, 40000)), "too large"),
    ],
    ids=["not-an-image", "truncated", "zero-bytes", "directory", "missing", "bomb"],
)
def test_broken_files_fail_with_a_message_naming_the_file(
    tmp_path: Path, make: object, message: str
) -> None:
    path = tmp_path / "drawing.png"
    make(path)  # type: ignore[operator]
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    first, second = _ink_picture(), Image.new("RGB", (60, 40), "black")
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    loaded = to_rgb(load_image(path))
    assert np.asarray(loaded).mean() > 200  # mostly white, like the first frame


def test_cmyk_jpeg_keeps_white_paper_and_dark_ink(tmp_path: Path) -> None:
    path = tmp_path / "scan.jpg"
    _ink_picture().convert("CMYK").save(path, quality=95)
    pixels = np.asarray(to_rgb(load_image(path))).astype(int)
    assert pixels[0, -1].min() > 230 and pixels[0, 0].max() < 60


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = (np.asarray(_ink_picture().convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    pixels = np.asarray(to_rgb(load_image(path)))
    assert pixels[0, 0].max() < 10 and pixels[0, -1].min() > 245


def test_palette_png_with_transparency_lands_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (30, 20), 0)
    image.putpalette([0, 0, 0, 10, 10, 10] + [0] * 762)
    image.paste(1, (5, 5, 10, 10))
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    pixels = np.asarray(to_rgb(load_image(path)))
    assert pixels[0, 0].tolist() == [255, 255, 255]  # the transparent background
    assert pixels[6, 6].tolist() == [10, 10, 10]  # the opaque ink


@pytest.mark.parametrize("size", [(1, 1), (3, 400), (400, 3)])
def test_tiny_and_strip_images_load(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "small.png"
    Image.new("L", size, 0).save(path)
    assert to_rgb(load_image(path)).size == size


def test_exif_orientation_turns_a_photo_upright(tmp_path: Path) -> None:
    """A phone stores the pixels sideways plus a tag; viewers (and mathpad) rotate them."""
    upright = _ink_picture((60, 40))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "photo.jpg"
    stored.save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.size == upright.size
    difference = np.abs(np.asarray(loaded, dtype=int) - np.asarray(upright, dtype=int))
    assert difference.mean() < 8


def test_clipboard_bytes_are_checked_like_files() -> None:
    with pytest.raises(InputError, match="clipboard is not an image"):
        image_from_bytes(b"plain text", "clipboard")
