"""ONNX Runtime sessions for a desktop, and the ORT-optimized copies that speed up a second start.

onnxruntime's graph optimizations take a second or more for an int8 decoder; the optimized
graph can be saved once and loaded as is afterwards. Such a copy is a cache and is treated as
one: it is checked against the SHA-256 recorded beside it before every use, and a damaged,
partial or unloadable copy is removed and made again from the model file (one log line). Its
faults never reach the caller as a fault of the model file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort

from mathpad.files import replace_atomically

log = logging.getLogger(__name__)

_warned_folders: set[Path] = set()  # a folder that cannot be used is named once per run

SessionFactory = Callable[[Path], ort.InferenceSession]

# Saving the optimized graph halves an int8 decoder's load time; for fp32's 1.2 GB graphs
# the copy would cost more disk than the second it saves.
MAX_OPTIMIZED_COPY = 1 << 30
_RECORD = ".json"  # beside each copy: its SHA-256 and the model file it was made from


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """CPU options tuned for a desktop: no busy-waiting threads while idle."""
    options = ort.SessionOptions()
    # 0 lets onnxruntime use one thread per physical core: hyper-threads add nothing here.
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning threads burn the cores the GUI and the other session need between runs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def open_session(path: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def open_optimized(path: Path, *, threads: int | None = None) -> ort.InferenceSession:
    """A session on a graph that onnxruntime already optimized (see `save_optimized`)."""
    options = session_options(threads)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return open_session(path, options)


def save_optimized(source: Path, target: Path) -> None:
    """Write the graph onnxruntime's optimizations make of `source` to `target`."""
    options = session_options(1)
    options.optimized_model_filepath = str(target)
    open_session(source, options)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def make_session(
    path: Path, *, threads: int | None = None, optimized_dir: Path | None = None
) -> ort.InferenceSession:
    """A desktop session on `path`; with `optimized_dir`, through a saved optimized copy.

    Errors of the model file itself propagate; a fault of the copy or of its folder costs
    only the saved optimization.
    """
    options = session_options(threads)
    stat = path.stat()
    if optimized_dir is None or stat.st_size > MAX_OPTIMIZED_COPY:
        return open_session(path, options)
    copy = optimized_dir / _copy_name(path.resolve(), stat)
    try:
        if optimized_dir.is_dir():
            prune_optimized(optimized_dir)
        session = _open_copy(copy, threads)
    except (OSError, MemoryError) as error:
        log.warning("optimized copy of %s is unusable (%s): made again", path.name, error)
        session = None
    if session is not None:
        return session
    try:
        return _make_copy(path, copy, options)
    except (OSError, MemoryError) as error:
        if optimized_dir not in _warned_folders:
            _warned_folders.add(optimized_dir)
            log.warning(
                "the cache folder %s cannot be used (%s); running without the saved "
                "optimization, which makes each start slower",
                optimized_dir,
                error,
            )
        return open_session(path, session_options(threads))


def _open_copy(copy: Path, threads: int | None) -> ort.InferenceSession | None:
    """The saved copy, if it is whole; a damaged one is removed (and None returned)."""
    record = copy.with_suffix(_RECORD)
    if not copy.exists() and not record.exists():
        return None
    problem = None
    try:
        stored = json.loads(record.read_text(encoding="utf-8"))
        if not isinstance(stored, dict) or stored.get("sha256") != file_hash(copy):
            problem = "its contents differ from what was saved"
    except (OSError, ValueError) as error:
        problem = f"{type(error).__name__}: {error}"
    if problem is None:
        try:
            return open_optimized(copy, threads=threads)
        except Exception as error:  # onnxruntime has its own exception types
            problem = str(error).splitlines()[0] if str(error) else type(error).__name__
    log.warning("optimized copy %s is damaged (%s): made again", copy.name, problem)
    for path in (copy, record):
        path.unlink(missing_ok=True)
    return None


def _make_copy(path: Path, copy: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    """Open `path`, saving what onnxruntime made of it as `copy` and its record."""
    folder = copy.parent
    folder.mkdir(parents=True, exist_ok=True)
    partial = copy.with_suffix(f".{os.getpid()}.part")
    options.optimized_model_filepath = str(partial)
    try:
        session = open_session(path, options)  # a damaged model file fails here, as it should
        record = {"sha256": file_hash(partial), "source": str(path.resolve())}
        replace_atomically(copy.with_suffix(_RECORD), json.dumps(record).encode("utf-8"))
        os.replace(partial, copy)  # whole or absent, whatever happens meanwhile
    finally:
        partial.unlink(missing_ok=True)
    return session


def prune_optimized(folder: Path) -> None:
    """Remove copies whose model file is gone or changed, and leftovers of killed saves."""
    for record in folder.glob(f"*{_RECORD}"):
        try:
            source = Path(json.loads(record.read_text(encoding="utf-8"))["source"])
            stat = source.stat()
        except (OSError, ValueError, KeyError, TypeError):
            source, stat = None, None
        copy = record.with_suffix(".onnx")
        if stat is not None and source is not None and copy.name == _copy_name(source, stat):
            continue
        copy.unlink(missing_ok=True)
        record.unlink(missing_ok=True)
    for copy in folder.glob("*.onnx"):  # no record: a copy of an older mathpad
        if not copy.with_suffix(_RECORD).exists():
            copy.unlink(missing_ok=True)
    for partial in folder.glob("[!.]*.part"):  # ".*.part" are replace_atomically's
        try:
            pid = int(partial.suffixes[-2].lstrip("."))
        except (IndexError, ValueError):
            pid = 0
        if not _alive(pid):
            partial.unlink(missing_ok=True)


def _copy_name(source: Path, stat: os.stat_result) -> str:
    """The copy's name: it changes with the model file and with onnxruntime's version."""
    key = f"{source}|{stat.st_size}|{stat.st_mtime_ns}|{ort.__version__}"
    return f"{source.stem}.{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there; its file is left alone
        return True
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
