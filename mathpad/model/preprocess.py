"""Images to pixel values, exactly as the model's ViTImageProcessor does it.

Everything comes from the model's preprocessor_config.json; nothing (size, filter, mean, std)
is assumed, so any model of this architecture gets its own preprocessing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mathpad.errors import ModelError
from mathpad.imaging.loading import to_rgb


@dataclass(frozen=True)
class PreprocessConfig:
    """The settings of ViTImageProcessor that change pixel values."""

    height: int
    width: int
    resample: Image.Resampling
    do_resize: bool
    do_rescale: bool
    rescale_factor: float
    do_normalize: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_file(cls, path: Path) -> PreprocessConfig:
        """Read and check preprocessor_config.json."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            height, width = _size(raw.get("size", 224))
            return cls(
                height=height,
                width=width,
                resample=Image.Resampling(int(raw.get("resample", Image.Resampling.BILINEAR))),
                do_resize=bool(raw.get("do_resize", True)),
                do_rescale=bool(raw.get("do_rescale", True)),
                rescale_factor=float(raw.get("rescale_factor", 1 / 255)),
                do_normalize=bool(raw.get("do_normalize", True)),
                mean=_triple(raw.get("image_mean", 0.5)),
                std=_triple(raw.get("image_std", 0.5)),
            )
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise ModelError(
                f"{path} is not a usable preprocessor config ({error}): download the model again"
            ) from error


def _size(size: object) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, dict) and "height" in size and "width" in size:
        return int(size["height"]), int(size["width"])
    raise ValueError(f"unsupported size {size!r}")


def _triple(value: float | Sequence[float]) -> tuple[float, float, float]:
    if isinstance(value, int | float):
        return float(value), float(value), float(value)
    first, second, third = (float(v) for v in value)
    return first, second, third


def preprocess(images: Sequence[Image.Image], config: PreprocessConfig) -> np.ndarray:
    """float32 pixel values [batch, 3, height, width] for the encoder."""
    return np.stack([_pixels(image, config) for image in images])


def _pixels(image: Image.Image, config: PreprocessConfig) -> np.ndarray:
    image = to_rgb(image)
    if config.do_resize:
        # transformers calls PIL's resize without a reducing gap; so do we.
        image = image.resize((config.width, config.height), resample=config.resample)
    pixels = np.asarray(image, dtype=np.uint8)
    values = pixels.astype(np.float32)
    if config.do_rescale:
        # float64 product, then float32: the reference's rounding, to the last bit.
        values = (pixels.astype(np.float64) * config.rescale_factor).astype(np.float32)
    if config.do_normalize:
        mean = np.asarray(config.mean, dtype=np.float32)
        std = np.asarray(config.std, dtype=np.float32)
        values = (values - mean) / std
    return np.ascontiguousarray(values.transpose(2, 0, 1), dtype=np.float32)
