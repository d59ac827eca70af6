"""Say what is really wrong when onnxruntime cannot open a model file.

Three different faults raise the same kind of exception from `InferenceSession`, and each needs
a different fix:
- the file is damaged (onnx's structural check fails, or its bytes differ from the hub's
  recorded hash): download exactly that file again (`mathpad model repair`);
- the runtime cannot run an intact file (an operator it lacks, an optimizer bug): name the
  onnxruntime version and the first line of its message; downloading again would not help;
- the cache folder for the saved optimized graph is unusable (a file in its place, read-only,
  full): run without the saved optimization, and say so once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import onnxruntime as ort

from mathpad.errors import ModelError
from mathpad.model.store import ModelFiles, damaged_files, is_local, repair_hint

log = logging.getLogger(__name__)

Session = TypeVar("Session")


def load_session(
    make: Callable[[Path, Path | None], Session],
    path: Path,
    *,
    files: ModelFiles,
    optimized_dir: Path | None,
) -> Session:
    """`make(path, optimized_dir)`, or the reason it failed as one `ModelError`.

    A fault of the saved-optimization folder never reaches here: `make_session` runs
    without the saved copy then. What does is the model file or the runtime.
    """
    _telemetry_off()
    try:
        return make(path, optimized_dir)
    except Exception as error:  # onnxruntime raises its own exception types
        raise explain(path, error, files) from error


@functools.lru_cache(maxsize=1)
def _telemetry_off() -> None:
    """Besides ORT_DISABLE_TELEMETRY (set in `mathpad.model`), the runtime's own switch."""
    disable = getattr(ort, "disable_telemetry_events", None)
    if disable is not None:
        disable()


def explain(path: Path, error: BaseException, files: ModelFiles) -> ModelError:
    """The one-line error for a model file onnxruntime refused: damaged, or not runnable."""
    damage = structural_damage(path)
    if damage is None and not is_local(files.name):
        relative = (
            path.relative_to(files.root).as_posix() if path.is_relative_to(files.root) else ""
        )
        if relative in damaged_files(files):
            damage = "its bytes differ from the hub's recorded hash"
    if damage is not None:
        fix = (
            "copy the model folder again from its source"
            if is_local(files.name)
            else repair_hint(files.name, files.variant)
        )
        return ModelError(f"{path} is damaged ({damage}): {fix}")
    text = first_line(error)
    advice = "use --variant int8 or fp32"
    if "NOT_IMPLEMENTED" not in text and "Could not find an implementation" not in text:
        advice = (
            "the file itself is intact: use --variant int8 or fp32, or another onnxruntime version"
        )
    return ModelError(f"onnxruntime {ort.__version__} cannot run {path} ({text[:200]}): {advice}")


def structural_damage(path: Path) -> str | None:
    """What onnx's checker finds wrong with the file's structure, or None when it passes."""
    import onnx

    try:
        onnx.checker.check_model(str(path))
    except Exception as error:  # protobuf's DecodeError, onnx's ValidationError, OSError
        return f"onnx's check fails: {first_line(error)[:160]}"
    return None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
