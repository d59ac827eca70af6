"""Faster decoder graphs derived from the published decoder, verified, and cached on disk.

The published decoder has no key/value cache. This package derives graphs that compute the
cross-attention keys and values once per image and keep a self-attention cache (`rewrites`,
on the structure `analysis` finds), quantizes activations per row where the source does so
per tensor (`rowquant`), checks them against the source before trusting them (`verify`),
and stores them once per model file (`cache`, with `lock`). Callers use `open_fast_decoder`.
"""

from mathpad.model.derive.cache import clear_cache, open_fast_decoder

__all__ = ["clear_cache", "open_fast_decoder"]
