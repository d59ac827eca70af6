"""Opening user images: broken files fail with one clear line, odd but valid ones work."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mathpad.errors import InputError
from mathpad.imaging.loading import (
    MAX_DECODED_BYTES,
    image_from_bytes,
    load_image,
    to_rgb,
)


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


def _bomb_png(width: int, height: int, color_type: int = 0) -> bytes:
    """A valid PNG header claiming a huge size, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    depth = 1 if color_type == 0 else 8
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
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


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "drawing.png"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_image(fifo)


def test_a_device_that_never_ends_is_refused_before_reading() -> None:
    with pytest.raises(InputError, match="not a regular file"):
        load_image("/dev/zero")


def test_a_huge_file_is_refused_by_its_size_before_reading(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.png"
    with open(sparse, "wb") as stream:
        stream.write(_png_bytes(_ink_picture()))
        stream.truncate(2_500_000_000)  # sparse: no disk used, 2.5 GB long
    with pytest.raises(InputError, match=r"2,384 MiB; mathpad reads a picture of up to 256 MiB"):
        load_image(sparse)


@pytest.mark.parametrize("name", ["loop.eps", "loop.png"])
def test_postscript_never_reaches_ghostscript_whatever_its_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{ } loop\n")
    with pytest.raises(InputError, match="not an image mathpad can read"):
        load_image(path)


def test_a_picture_whose_pixels_would_take_too_much_memory_is_refused(tmp_path: Path) -> None:
    """Counted with channels: 8000 x 6000 RGBA is under the pixel limit, not the byte limit."""
    path = tmp_path / "poster.png"
    path.write_bytes(_bomb_png(8000, 6000, color_type=6))
    with pytest.raises(InputError, match=r"8000x6000 RGBA pixels take 192 MB, more than 160"):
        load_image(path)


def test_damaged_tiffs_print_no_extra_stderr_lines(tmp_path: Path) -> None:
    """libtiff and Pillow write their own warnings to stderr; only our one line may appear."""
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, format="TIFF", compression="tiff_deflate")
    data = bytearray(buffer.getvalue())
    data[300] ^= 0xFF  # inside the compressed strip: zlib's check fails
    data[20] ^= 0x40  # a tag entry: Pillow warns about it
    path = tmp_path / "scan.tif"
    path.write_bytes(bytes(data))
    code = (
        "import sys\n"
        "from mathpad.errors import InputError\n"
        "from mathpad.imaging.loading import load_image\n"
        "try:\n"
        f"    load_image({str(path)!r})\n"
        "except InputError as error:\n"
        "    print(error, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "damaged or truncated" in result.stderr


def test_the_largest_accepted_picture_stays_within_its_memory_bound(tmp_path: Path) -> None:
    """Peak RSS of opening (and making RGB of) the largest RGBA picture, in a fresh process.

    Read from /proc (VmHWM starts afresh at exec; getrusage's maximum would be the parent's).
    """
    path = tmp_path / "largest.png"
    width, height = 10_000, MAX_DECODED_BYTES // 4 // 10_000
    ramp = np.arange(width * 4, dtype=np.uint32).astype(np.uint8).reshape(1, width, 4)
    Image.fromarray(np.repeat(ramp, height, axis=0), "RGBA").save(path, compress_level=1)
    code = (
        "from mathpad.imaging.loading import load_image, to_rgb\n"
        "def kib(key):\n"
        "    lines = open('/proc/self/status').read().splitlines()\n"
        "    return next(int(l.split()[1]) for l in lines if l.startswith(key))\n"
        "before = kib('VmRSS')\n"
        f"image = to_rgb(load_image({str(path)!r}))\n"
        "print(before * 1024, kib('VmHWM') * 1024, image.size[0] * image.size[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, peak, pixels = map(int, result.stdout.split())
    assert pixels * 4 == MAX_DECODED_BYTES
    # The file's bytes, the decoded RGBA (4 bytes a pixel), the alpha band Pillow's masked
    # paste takes out (1) and the RGB result (3), and nothing more: no second copy of the
    # picture, no float64 array.
    bound = path.stat().st_size + MAX_DECODED_BYTES * 8 / 4 + 32e6
    assert peak - before < bound, (before, peak, bound)
