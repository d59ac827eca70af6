"""Find, download and check the model files.

A model is either a local folder in the hub repo's layout or a hub repo id. Only the files one
variant needs come down (the json and tokenizer files plus one encoder and one decoder), into
the standard Hugging Face cache, so other tools share them and `HF_HUB_OFFLINE=1` works.

A model already complete in the cache is used without asking the network. A download first
asks the hub for every file's size and hash with a short timeout (so an unreachable hub fails
in seconds, not minutes), reports one progress total, and checks each file against the hash
the hub recorded (the LFS SHA-256, or git's blob hash for small files). `verify_model` and
`repair_model` do the same for a model already in the cache: the cache names each blob by
that hash, so a damaged file is found without the network and replaced by exactly one
forced download.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from mathpad import paths
from mathpad.errors import Cancelled, ModelError, ModelNotDownloadedError

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

# Seconds to wait for the hub's answer about a file before calling it unreachable.
NETWORK_TIMEOUT = 4.0
REPAIR_HINT = "run 'mathpad model repair{options}' to download exactly the damaged files again"

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
    return paths.cache_dir() / "graphs"


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
    cancel: threading.Event | None = None,
) -> ModelFiles:
    """Find one variant of a model on disk, downloading it first when it comes from the hub.

    A hub model complete in the cache is used at once, without the network; otherwise
    (unless `local_files_only`) the missing files are downloaded.
    """
    model = model or DEFAULT_REPO
    encoder, decoder = onnx_names(variant)
    if is_local(model):
        root = Path(model).expanduser()
        _check_folder(root, (*REQUIRED_FILES, encoder, decoder))
        name = str(root)
    else:
        name = str(model)
        needed = (*REQUIRED_FILES, encoder, decoder)
        root = _cached_root(name, needed, revision)
        if root is None:
            if local_files_only:
                raise ModelNotDownloadedError(
                    f"the model {name} ({variant}) is not on this computer yet: run "
                    "'mathpad model download' while online, or pass --model with a local folder"
                )
            root = _download(name, needed, revision, progress, cancel)
        _check_hashes(root, name, variant, needed)
    for json_name in ("config.json", "preprocessor_config.json", "generation_config.json"):
        _check_json(root / json_name, name, variant)
    return ModelFiles(name, variant, root, root / encoder, root / decoder)


def download_model(
    model: str | None = None,
    variant: str = DEFAULT_VARIANT,
    *,
    revision: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download one variant into the Hugging Face cache and return its folder."""
    return resolve_model(model, variant, revision=revision, progress=progress, cancel=cancel).root


def download_size(
    model: str | None = None, variant: str = DEFAULT_VARIANT, *, revision: str | None = None
) -> int:
    """Bytes one variant takes, asked from the hub: the first start's online check.

    Raises `ModelNotDownloadedError` within about `NETWORK_TIMEOUT` seconds per file when the
    hub cannot be reached (saying why: offline mode, refused, no answer), `ModelError` for a
    repo or variant the hub does not have.
    """
    repo = model or DEFAULT_REPO
    names = (*REQUIRED_FILES, *onnx_names(variant), *OPTIONAL_FILES)
    return sum(remote.size for remote in _plan(repo, names, revision))


def check_model_folder(path: str | Path, variant: str | None = None) -> str:
    """Check a folder the user chose before it is saved as the model; return its variant.

    Without `variant`, the folder must hold at least one variant's encoder and decoder; the
    first such variant is returned. Raises `ModelError` naming what is missing.
    """
    root = Path(path).expanduser()
    _check_folder(root, REQUIRED_FILES)
    candidates = [variant] if variant else list(VARIANTS)
    for name in candidates:
        if all((root / part).is_file() for part in onnx_names(name)):
            _check_folder(root, onnx_names(name))
            for json_name in ("config.json", "preprocessor_config.json"):
                _check_json(root / json_name, str(root), name)
            return name
    if variant:
        _check_folder(root, onnx_names(variant))  # names the missing file
    raise ModelError(
        f"{root} holds no encoder and decoder (onnx/encoder_model*.onnx and "
        f"onnx/decoder_model*.onnx): choose the folder of a model in the layout of {DEFAULT_REPO}"
    )


@dataclass(frozen=True)
class FileCheck:
    """One model file compared with the hash the hub recorded for it."""

    name: str
    path: Path | None  # None: not in the cache
    expected: str | None  # the hub's SHA-256 (LFS files) or git blob SHA-1
    ok: bool


def verify_model(
    model: str | None = None, variant: str = DEFAULT_VARIANT, *, revision: str | None = None
) -> list[FileCheck]:
    """Compare every cached file of one variant with the hub's recorded hash."""
    repo = model or DEFAULT_REPO
    if is_local(repo):
        raise ModelError(
            f"{repo} is a local folder: it has no recorded hashes to check against (only a "
            "model downloaded from the hub can be verified); copy it again from its source"
        )
    names = (*REQUIRED_FILES, *onnx_names(variant), *OPTIONAL_FILES)
    checks = []
    for name in names:
        path = _cached_file(repo, name, revision)
        if path is None:
            checks.append(FileCheck(name, None, None, name in OPTIONAL_FILES))
            continue
        expected = _recorded_hash(path) or _hub_hash(repo, name, revision)
        checks.append(FileCheck(name, path, expected, _matches(path, expected)))
    return checks


def repair_model(
    model: str | None = None,
    variant: str = DEFAULT_VARIANT,
    *,
    revision: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Download again exactly the files that fail `verify_model` (or are missing)."""
    repo = model or DEFAULT_REPO
    bad = [check for check in verify_model(repo, variant, revision=revision) if not check.ok]
    if not bad:
        return []
    plan = _plan(repo, [check.name for check in bad], revision)
    _fetch_all(repo, plan, revision, progress, cancel, force=True)
    still = [c.name for c in verify_model(repo, variant, revision=revision) if not c.ok]
    if still:
        raise ModelError(
            f"{', '.join(still)} of {repo} still differ from the hub's hashes after a fresh "
            "download: the disk may be failing, or the hub's copy changed"
        )
    return [check.name for check in bad]


def repair_hint(model: str, variant: str) -> str:
    """The command that repairs this model, for error messages."""
    options = "" if model == DEFAULT_REPO else f" --model {model}"
    options += "" if variant == DEFAULT_VARIANT else f" --variant {variant}"
    return REPAIR_HINT.format(options=options)


def damaged_files(files: ModelFiles) -> list[str]:
    """The files of a hub model that differ from the hub's hashes; [] for a local folder
    (nothing to compare) or when all match. Never waits for the network."""
    if is_local(files.name):
        return []
    checks = verify_model(files.name, files.variant)
    return [c.name for c in checks if c.path is not None and c.expected and not c.ok]


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


def _check_hashes(root: Path, repo: str, variant: str, names: Sequence[str]) -> None:
    """Each cached file against the hash its blob is named by; a file is hashed again only
    when its size, time or inode changed since it last matched (a memo in the user cache)."""
    memo_path = graph_cache_dir().parent / "verified.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
        memo = memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        memo = {}
    changed = False
    for name in names:
        path = root / name
        expected = _recorded_hash(path)
        if expected is None:
            continue
        stat = path.stat()
        key = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
        if memo.get(expected) == key:
            continue
        if not _matches(path, expected):
            raise ModelError(
                f"{path} ({name} of {repo}) is damaged: its bytes differ from the hub's "
                f"recorded hash; {repair_hint(repo, variant)}"
            )
        memo[expected], changed = key, True
    if changed:
        from mathpad.files import replace_atomically

        try:
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(memo_path, json.dumps(memo).encode("utf-8"))
        except OSError:
            pass  # only a memo: the next start hashes again


def _check_json(path: Path, model: str, variant: str) -> None:
    """A model's json file must be a JSON object in UTF-8; anything else is one clear line."""
    if not path.is_file():
        return
    fix = "copy it again" if is_local(model) else repair_hint(model, variant)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ModelError(
            f"{path} is damaged (not UTF-8 text at byte {error.start}): {fix}"
        ) from None
    except json.JSONDecodeError as error:
        raise ModelError(
            f"{path} is damaged (not JSON: {error.msg} at line {error.lineno}): {fix}"
        ) from None
    except (OSError, RecursionError) as error:
        raise ModelError(f"{path} cannot be read ({error}): {fix}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} is damaged (a JSON {type(data).__name__}, not an object): {fix}")


def _cached_file(repo: str, name: str, revision: str | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, name, revision=revision)
    return Path(found) if isinstance(found, str) else None


def _cached_root(repo: str, needed: Sequence[str], revision: str | None) -> Path | None:
    """The snapshot folder when every needed file is cached and every optional file is
    cached or known to be absent from the repo; None when anything must be fetched."""
    from huggingface_hub import try_to_load_from_cache

    found = {name: try_to_load_from_cache(repo, name, revision=revision) for name in needed}
    if not all(isinstance(path, str) for path in found.values()):
        return None
    for name in OPTIONAL_FILES:
        if try_to_load_from_cache(repo, name, revision=revision) is None:
            return None  # neither cached nor recorded as missing: ask the hub
    return Path(str(found["config.json"])).parent


@dataclass(frozen=True)
class _Remote:
    name: str
    size: int
    etag: str


def _plan(repo: str, names: Sequence[str], revision: str | None) -> list[_Remote]:
    """Every file's size and hash from the hub, asked with a short timeout; optional files
    the repo lacks are left out, every other fault is one clear ModelError."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError

    plan = []
    for name in names:
        url = hf_hub_url(repo, name, revision=revision)
        try:
            meta = get_hf_file_metadata(url, timeout=NETWORK_TIMEOUT)
        except EntryNotFoundError as error:
            if name in OPTIONAL_FILES:
                continue
            raise _download_error(repo, name, revision, error) from None
        except Exception as error:  # the HTTP client's own exception types
            raise _download_error(repo, name, revision, error) from None
        if meta.etag is None:
            raise ModelError(f"the hub gave no hash for {name} of {repo}: try again later")
        plan.append(_Remote(name, int(meta.size or 0), meta.etag))
    return plan


def _download(
    repo: str,
    needed: Sequence[str],
    revision: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> Path:
    """Fetch what one variant needs, each file checked against the hub's hash."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    plan = _plan(repo, (*needed, *OPTIONAL_FILES), revision)
    paths = _fetch_all(repo, plan, revision, progress, cancel, force=False)
    for name in set(OPTIONAL_FILES) - set(paths):
        # Asked once more through the hub library, which records the absence in the cache,
        # so the next start knows the model is complete without the network.
        try:
            hf_hub_download(repo, name, revision=revision, etag_timeout=NETWORK_TIMEOUT)
        except EntryNotFoundError:
            pass
        except Exception as error:  # the HTTP client's and the hub library's exception types
            raise _download_error(repo, name, revision, error) from None
    return paths["config.json"].parent


def _fetch_all(
    repo: str,
    plan: Sequence[_Remote],
    revision: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    *,
    force: bool,
) -> dict[str, Path]:
    from huggingface_hub import hf_hub_download

    meter = _Meter(progress, cancel, sum(remote.size for remote in plan))
    tqdm_class = meter.tqdm_class() if (progress or cancel) else None
    paths = {}
    for remote in plan:
        meter.start(remote.size)
        try:
            path = Path(
                hf_hub_download(
                    repo, remote.name, revision=revision, force_download=force,
                    etag_timeout=NETWORK_TIMEOUT, tqdm_class=tqdm_class,
                )
            )  # fmt: skip
        except Cancelled:
            _remove_partial(path_hint=remote.etag)
            raise Cancelled(f"download of {repo} cancelled; no partial file was kept") from None
        except Exception as error:  # the HTTP client's and the hub library's exception types
            raise _download_error(repo, remote.name, revision, error) from None
        meter.finish()
        if not _matches(path, remote.etag):
            raise ModelError(
                f"{path} ({remote.name} of {repo}) does not match the hub's hash after "
                "download (damaged in transfer?): run 'mathpad model download' again"
            )
        paths[remote.name] = path
    return paths


def _remove_partial(path_hint: str) -> None:
    """Drop the `.incomplete` blob a cancelled download left in the hub cache."""
    from huggingface_hub import constants

    for partial in Path(constants.HF_HUB_CACHE).glob(f"*/blobs/{path_hint}.incomplete"):
        partial.unlink(missing_ok=True)


def _download_error(repo: str, name: str, revision: str | None, error: Exception) -> ModelError:
    """One line naming the repo, the file, what went wrong and what to do."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    chain = []
    cause: BaseException | None = error
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    kinds = " ".join(type(e).__name__ for e in chain)
    if any(isinstance(e, RepositoryNotFoundError) for e in chain):
        return ModelError(f"no model repo {repo!r} on the hub: check the name")
    if any(isinstance(e, RevisionNotFoundError) for e in chain):
        return ModelError(f"{repo} has no revision {revision!r}")
    if any(isinstance(e, EntryNotFoundError) for e in chain):
        return ModelError(
            f"{repo} has no file {name}: choose another --variant ({', '.join(VARIANTS)})"
        )
    if any(isinstance(e, OfflineModeIsEnabled) for e in chain) or constants.HF_HUB_OFFLINE:
        return ModelNotDownloadedError(
            f"{repo} ({name}) is not in the local cache and offline mode is on "
            "(HF_HUB_OFFLINE=1): unset it and run 'mathpad model download' while online, "
            "or pass --model with a local folder"
        )
    statuses = [e.response.status_code for e in chain if isinstance(e, HfHubHTTPError)]
    if statuses and statuses[0] >= 500:
        what = f"the hub answered {statuses[0]} (a fault on its side)"
    elif "Timeout" in kinds:
        what = "the hub did not answer in time"
    elif "ConnectError" in kinds or "ConnectionRefused" in kinds:
        what = f"cannot connect to {constants.ENDPOINT}"
    elif any(k in kinds for k in ("RemoteProtocolError", "ReadError", "ConnectionReset")):
        what = "the connection was cut during the transfer"
    elif statuses:
        what = f"the hub answered {statuses[0]}"
    else:
        what = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return ModelNotDownloadedError(
        f"cannot download {name} of {repo}: {what}; check the connection and run "
        "'mathpad model download' again (finished files are kept)"
    )


def _recorded_hash(path: Path) -> str | None:
    """The hash the cache named the file's blob by (huggingface_hub stores blobs/<etag>)."""
    real = Path(os.path.realpath(path))
    return real.name if real.parent.name == "blobs" and _is_hash(real.name) else None


def _hub_hash(repo: str, name: str, revision: str | None) -> str | None:
    """Ask the hub for a file's hash (a cache without symlinks keeps no blob names)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    try:
        return get_hf_file_metadata(
            hf_hub_url(repo, name, revision=revision), timeout=NETWORK_TIMEOUT
        ).etag
    except Exception as error:  # the HTTP client's own exception types
        raise _download_error(repo, name, revision, error) from None


def _is_hash(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _matches(path: Path, expected: str | None) -> bool:
    """SHA-256 for LFS files (64 hex digits), git's blob SHA-1 for small files (40)."""
    if expected is None or not _is_hash(expected):
        return True  # nothing recorded to compare with
    digest = hashlib.sha256() if len(expected) == 64 else hashlib.sha1()
    if len(expected) == 40:
        digest.update(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest() == expected


class _Meter:
    """One progress total over all files: never backwards, each byte counted once.

    The hub library opens one bar per file, and Xet's reporter two (both counting the same
    bytes), so a file's progress is the furthest of its bars, capped at its size.
    """

    def __init__(self, progress: Progress | None, cancel: threading.Event | None, total: int):
        self._progress, self._cancel, self.total = progress, cancel, total
        self._done = 0  # bytes of finished files
        self._size = 0
        self._bars: list[tqdm] = []
        self._reported = -1
        self._lock = threading.Lock()

    def start(self, size: int) -> None:
        self._size, self._bars = size, []
        self._report(0)

    def finish(self) -> None:
        self._done += self._size
        self._size, self._bars = 0, []
        self._report(0)

    def _update(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("download cancelled")
        current = max((int(bar.n) for bar in self._bars), default=0)
        self._report(min(current, self._size))

    def _report(self, current: int) -> None:
        with self._lock:
            value = max(self._reported, min(self._done + current, self.total))
            changed = value != self._reported
            self._reported = value
        if changed and self._progress is not None:
            self._progress(value, self.total)

    def tqdm_class(self) -> type[tqdm]:
        meter = self

        class MeterTqdm(tqdm):  # type: ignore[misc]
            def __init__(self, *args: object, **kwargs: object) -> None:
                kwargs.pop("name", None)  # huggingface_hub's own tqdm takes a logger name
                kwargs["disable"] = False
                kwargs["file"] = _Null()
                super().__init__(*args, **kwargs)
                meter._bars.append(self)

            def update(self, n: float | None = 1) -> bool | None:
                shown = super().update(n)
                meter._update()
                return shown

        return MeterTqdm


class _Null:
    """A stream that swallows the progress bar's text; the callback reports instead."""

    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
