"""Find, download and check the model files.

A model is either a local folder in the hub repo's layout or a hub repo id. Only the files one
variant needs come down (the json and tokenizer files plus one encoder and one decoder), into
the standard Hugging Face cache, so other tools share them and `HF_HUB_OFFLINE=1` works.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from mathpad.errors import ModelError, ModelNotDownloadedError

DEFAULT_REPO = "onnx-community/latex_finetuned-ONNX"

# Variant name -> file suffix, as the transformers.js quantize script names them.
VARIANTS: dict[str, str] = {
    "fp32": "",
    "fp16": "_fp16",
    "int8": "_int8",
    "uint8": "_uint8",
    "quantized": "_quantized",
    "q4": "_q4",
    "q4f16": "_q4f16",
    "bnb4": "_bnb4",
}
# The command line's default: fp32 runs the very weights of the model card's pipeline and
# gives exactly its tokens, which is what scripts and checks expect.
DEFAULT_VARIANT = "fp32"
# The pad's default: int8 is a quarter of fp32's download (about 0.4 GB instead of 1.5 GB),
# 2.3 times as fast on CPUs (integer kernels read a quarter of the bytes), and agrees with
# fp32 on about 95% of decoding steps: the right trade while recognizing as you write.
PAD_VARIANT = "int8"

REQUIRED_FILES = ("config.json", "preprocessor_config.json", "tokenizer.json")
OPTIONAL_FILES = ("generation_config.json", "tokenizer_config.json", "special_tokens_map.json")

Progress = Callable[[int, int], None]

_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class ModelFiles:
    """The files of one variant of one model, all present on disk."""

    name: str
    variant: str
    root: Path
    encoder: Path
    decoder: Path

    def file(self, name: str) -> Path | None:
        """A json or tokenizer file of the model, or None when the model has none."""
        path = self.root / name
        return path if path.is_file() else None


def graph_cache_dir() -> Path:
    """Where derived decoder graphs live: the user's cache, never the Hugging Face cache."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mathpad")) / "graphs"


def onnx_names(variant: str) -> tuple[str, str]:
    """The encoder and decoder paths of a variant, relative to the model folder."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    suffix = VARIANTS[variant]
    return f"onnx/encoder_model{suffix}.onnx", f"onnx/decoder_model{suffix}.onnx"


def is_local(model: str | Path) -> bool:
    """A folder on disk rather than a hub repo id."""
    text = str(model)
    return isinstance(model, Path) or Path(text).exists() or not _REPO_ID.match(text)


def resolve_model(
    model: str | Path | None = None,
    variant: str = DEFAULT_VARIANT,
    *,
    revision: str | None = None,
    local_files_only: bool = False,
    progress: Progress | None = None,
) -> ModelFiles:
    """Find one variant of a model on disk, downloading it first when it comes from the hub."""
    model = model or DEFAULT_REPO
    encoder, decoder = onnx_names(variant)
    if is_local(model):
        root = Path(model).expanduser()
        _check_folder(root, (*REQUIRED_FILES, encoder, decoder))
        name = str(root)
    else:
        root = _download(str(model), (encoder, decoder), revision, local_files_only, progress)
        name = str(model)
    return ModelFiles(name, variant, root, root / encoder, root / decoder)


def download_model(
    model: str | None = None,
    variant: str = DEFAULT_VARIANT,
    *,
    revision: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download one variant into the Hugging Face cache and return its folder."""
    return resolve_model(model, variant, revision=revision, progress=progress).root


def _check_folder(root: Path, needed: tuple[str, ...]) -> None:
    if not root.is_dir():
        raise ModelError(
            f"model folder {root} does not exist: pass a folder in the layout of "
            f"{DEFAULT_REPO} (config.json, tokenizer.json, onnx/...) or a hub repo id"
        )
    for name in needed:
        path = root / name
        if not path.is_file():
            raise ModelError(
                f"{path} is missing: the model folder needs {name} "
                f"(copy it from {DEFAULT_REPO}, or choose a variant the folder has)"
            )
        if path.stat().st_size == 0:
            raise ModelError(f"{path} is empty (0 bytes): download it again")


def _download(
    repo: str,
    onnx_files: tuple[str, str],
    revision: str | None,
    local_files_only: bool,
    progress: Progress | None,
) -> Path:
    """Fetch only what one variant needs; the hub library makes each download atomic."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    tqdm_class = _callback_tqdm(progress) if progress else None

    def fetch(name: str) -> Path:
        try:
            return Path(
                hf_hub_download(
                    repo,
                    name,
                    revision=revision,
                    local_files_only=local_files_only,
                    tqdm_class=tqdm_class,
                )
            )
        except (LocalEntryNotFoundError, OfflineModeIsEnabled) as error:
            raise ModelNotDownloadedError(
                f"{repo} ({name}) is not in the local cache and cannot be downloaded now "
                "(offline or HF_HUB_OFFLINE=1): run 'mathpad model download' while online, "
                "or pass --model with a local folder"
            ) from error
        except RepositoryNotFoundError as error:
            raise ModelError(f"no model repo {repo!r} on the hub: check the name") from error
        except RevisionNotFoundError as error:
            raise ModelError(f"{repo} has no revision {revision!r}") from error
        except EntryNotFoundError as error:
            raise ModelError(
                f"{repo} has no file {name}: choose another --variant ({', '.join(VARIANTS)})"
            ) from error
        except (HfHubHTTPError, OSError) as error:
            raise ModelError(f"could not download {name} from {repo}: {error}") from error

    folder = fetch("config.json").parent
    for name in (*REQUIRED_FILES[1:], *onnx_files):
        fetch(name)
    for name in OPTIONAL_FILES:
        with contextlib.suppress(ModelError):
            fetch(name)
    return folder


def _callback_tqdm(progress: Progress) -> type[tqdm]:
    """A silent tqdm that reports bytes across all files to `progress(done, total)`."""
    totals = {"done": 0, "total": 0}

    class CallbackTqdm(tqdm):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs["disable"] = False
            kwargs["file"] = _Null()
            super().__init__(*args, **kwargs)
            totals["total"] += int(self.total or 0)

        def update(self, n: float | None = 1) -> bool | None:
            totals["done"] += int(n or 0)
            progress(totals["done"], totals["total"])
            return super().update(n)

    return CallbackTqdm


class _Null:
    """A stream that swallows the progress bar's text; the callback reports instead."""

    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
