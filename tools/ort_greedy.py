"""A plain greedy decoder over the hub's ONNX files, independent of transformers.

The decoder graph has no cache and computes positions from the length of `input_ids`,
so every step feeds the whole prefix and takes the last row of the logits. Sessions use
onnxruntime's default options on the CPU provider.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort


class OnnxPair:
    """Encoder and decoder sessions of one variant (suffix "" is fp32)."""

    def __init__(self, model_dir: Path, suffix: str = "") -> None:
        def load(part: str) -> ort.InferenceSession:
            path = model_dir / "onnx" / f"{part}{suffix}.onnx"
            return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        self.encoder = load("encoder_model")
        self.decoder = load("decoder_model")

    def encode(self, pixel_values: np.ndarray) -> np.ndarray:
        return self.encoder.run(None, {"pixel_values": pixel_values})[0]

    def logits(self, input_ids: list[int], hidden: np.ndarray) -> np.ndarray:
        feed = {"input_ids": np.array([input_ids], dtype=np.int64), "encoder_hidden_states": hidden}
        return self.decoder.run(None, feed)[0][0]

    def greedy(
        self,
        pixel_values: np.ndarray,
        start: int,
        eos: int,
        max_length: int,
        last_token_only: bool = False,
    ) -> list[int]:
        """Greedy tokens, start token included, at most `max_length` of them.

        `last_token_only` feeds just the newest token each step: the classic mistake with a
        cache-less graph, used to show that a fixture notices it.
        """
        hidden = self.encode(pixel_values)
        ids = [start]
        while len(ids) < max_length:
            logits = self.logits(ids[-1:] if last_token_only else ids, hidden)
            ids.append(int(logits[-1].argmax()))
            if ids[-1] == eos:
                break
        return ids

    def teacher_forced_agreement(self, pixel_values: np.ndarray, token_ids: list[int]) -> float:
        """Share of positions where the argmax of one pass over `token_ids` predicts the next."""
        logits = self.logits(token_ids[:-1], self.encode(pixel_values))
        return float(np.mean(logits.argmax(axis=-1) == np.array(token_ids[1:])))
