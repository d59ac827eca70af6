"""Derived graphs on disk: derived and verified once per model file, checked before every use.

`open_fast_decoder` returns the fastest runner whose graphs passed verification against the
published decoder: "cached", else "hoisted". The cache folder holds

    <stem>-<content hash>-v<derivation>.<verification>-ort<version>/   one entry
        manifest.json          level, signature, failures, SHA-256 of each graph
        <level>/prepare.onnx   onnxruntime-optimized graphs: the only copy of each
        <level>/step.onnx
    .<entry>.lock              held while that entry is derived
    .<entry>.tmp-*/            a derivation in progress
    source-hashes.json         content hashes of model files, by size and mtime

The key holds the derivation and verification versions, so a verdict of an older verifier
is derived again. A damaged, partial or wrongly typed entry is removed and derived again
(once, one log line). Derivation holds the entry's lock, so processes started together
derive once; a killed derivation's temporary folder is removed at the next start, when
nobody holds its lock. Out of memory or disk is no verdict on the graphs: nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import onnxruntime as ort

from mathpad.files import replace_atomically
from mathpad.model.derive.io import load_model, save_model
from mathpad.model.derive.lock import file_lock
from mathpad.model.derive.rewrites import DERIVATION_VERSION, LEVELS, StepSignature, derive
from mathpad.model.derive.runners import DerivedDecoder, build_runner
from mathpad.model.derive.verify import VERIFICATION_VERSION, verify
from mathpad.model.sessions import file_hash, open_optimized, save_optimized

log = logging.getLogger(__name__)

_MANIFEST = "manifest.json"
_HASHES = "source-hashes.json"
_TEMP = ".tmp-"


def open_fast_decoder(
    decoder_path: Path, *, cache_dir: Path, threads: int | None = None
) -> DerivedDecoder | str:
    """The fastest verified runner for `decoder_path`, or in words why the plain one runs.

    The first call for a model file derives and verifies (seconds to a minute at full size);
    later calls check and load the stored graphs.
    """
    name = decoder_path.name
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        remove_abandoned(cache_dir)
        entry = _entry(decoder_path, cache_dir)
        runner = None
        for attempt in range(2):  # stored graphs onnxruntime refuses are derived once more
            manifest = _read_manifest(entry)
            if manifest is None:
                with file_lock(_lock_path(entry)):
                    manifest = _read_manifest(entry, quiet=True) or _derive_into(
                        entry, decoder_path
                    )
            runner = _runner(entry, manifest, threads, retry=attempt == 0)
            if runner is not None:
                break
    except (OSError, MemoryError) as error:  # a full disk or memory is no verdict
        reason = f"the graphs could not be derived or stored ({type(error).__name__}: {error})"
        log.warning("no fast decoder for %s, using the plain one: %s", name, reason)
        return reason
    if runner is None:
        return "its stored graphs could not be loaded, even derived again"
    if isinstance(runner, str):
        log.warning("no fast decoder for %s, using the plain one: %s", name, runner)
        return runner
    if runner.reason:
        log.warning("using the %s decoder for %s: %s", runner.name, name, runner.reason)
    return runner


def _runner(
    entry: Path, manifest: dict, threads: int | None, *, retry: bool
) -> DerivedDecoder | str | None:
    """The stored runner; the stored failure reason if none verified; None if unusable."""
    level, failures = manifest["level"], _describe(manifest["failures"])
    if level is None:
        return failures
    signature = _signature(manifest["signature"])
    try:
        prepare = open_optimized(entry / level / "prepare.onnx", threads=threads)
        step = open_optimized(entry / level / "step.onnx", threads=threads)
    except Exception as error:  # onnxruntime has its own exception types
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        if retry:
            log.warning("stored graphs %s could not be loaded (%s): derived again", entry, first)
        shutil.rmtree(entry, ignore_errors=True)
        return None
    return build_runner(signature, prepare, step, failures or None)


def _signature(fields: dict) -> StepSignature:
    return StepSignature(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def _describe(failures: dict[str, str]) -> str:
    return "; ".join(f"{level} graphs failed: {reason}" for level, reason in failures.items())


def _lock_path(entry: Path) -> Path:
    return entry.parent / f".{entry.name}.lock"


def _entry(source: Path, cache_dir: Path) -> Path:
    """The cache folder for `source`; stale derivations of the same file are removed."""
    digest = _content_hash(source, cache_dir)[:20]
    prefix = f"{source.stem}-{digest}-"
    name = f"{prefix}v{DERIVATION_VERSION}.{VERIFICATION_VERSION}-ort{ort.__version__}"
    for stale in cache_dir.glob(f"{prefix}*"):
        if stale.name != name and stale.is_dir():
            _remove_unlocked(stale)
    return cache_dir / name


def _remove_unlocked(entry: Path) -> None:
    with file_lock(_lock_path(entry), wait=False) as locked:
        if locked:
            shutil.rmtree(entry, ignore_errors=True)


def remove_abandoned(cache_dir: Path) -> None:
    """Remove temporary folders of killed derivations and entries of deleted model files."""
    for folder in cache_dir.glob(f".*{_TEMP}*"):
        entry = cache_dir / folder.name[1:].rsplit(_TEMP, 1)[0]
        with file_lock(_lock_path(entry), wait=False) as locked:
            if locked:
                shutil.rmtree(folder, ignore_errors=True)
    for manifest_path in cache_dir.glob(f"*/{_MANIFEST}"):
        try:
            source = json.loads(manifest_path.read_text(encoding="utf-8"))["source_path"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # judged (and healed) when that entry is used
        if isinstance(source, str) and not Path(source).exists():
            _remove_unlocked(manifest_path.parent)


def _content_hash(source: Path, cache_dir: Path) -> str:
    """SHA-256 of the model file and its external data, if any.

    Remembered by size and modification time: hashing a 1.2 GB decoder at every start
    would cost a second.
    """
    files = [source, *sorted(source.parent.glob(f"{source.name}?*"))]
    stamp = [[file.stat().st_size, file.stat().st_mtime_ns] for file in files]
    memo_path = cache_dir / _HASHES
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if not isinstance(memo, dict):
        memo = {}
    key = str(source.resolve())
    known = memo.get(key)
    if isinstance(known, dict) and known.get("stamp") == stamp and "sha256" in known:
        return str(known["sha256"])
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as stream:
            while chunk := stream.read(1 << 22):
                digest.update(chunk)
    memo = {path: value for path, value in memo.items() if Path(path).exists()}
    memo[key] = {"stamp": stamp, "sha256": digest.hexdigest()}
    replace_atomically(memo_path, json.dumps(memo, indent=1).encode("utf-8"))
    return digest.hexdigest()


def _read_manifest(entry: Path, *, quiet: bool = False) -> dict | None:
    """The entry's manifest if the entry is whole; a damaged entry is removed (None)."""
    if not entry.exists():
        return None
    try:
        manifest = json.loads((entry / _MANIFEST).read_text(encoding="utf-8"))
        problem = _problem(entry, manifest)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        problem = f"{type(error).__name__}: {error}"
    if problem is None:
        return manifest
    if not quiet:
        log.warning("stored graphs %s are damaged (%s): derived again", entry.name, problem)
    shutil.rmtree(entry, ignore_errors=True)
    return None


def _problem(entry: Path, manifest: object) -> str | None:
    """What is wrong with a stored entry, or None."""
    if not isinstance(manifest, dict):
        return f"the manifest is a {type(manifest).__name__}, not an object"
    if manifest.get("version") != DERIVATION_VERSION:
        return "the manifest is of another version"
    level, failures, files = (manifest.get(k) for k in ("level", "failures", "files"))
    if level not in (*LEVELS, None) or not isinstance(failures, dict):
        return "the manifest has no valid level"
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return "the manifest lists no graphs"
    if level is not None:
        try:
            _signature(manifest["signature"])
        except (KeyError, TypeError, AttributeError):
            return "the manifest has no valid signature"
        if set(files) != {f"{level}/prepare.onnx", f"{level}/step.onnx"}:
            return "the manifest lists other graphs than its level's"
    for relative, digest in files.items():
        path = entry / relative
        if not path.is_file() or file_hash(path) != digest:
            return f"{relative} differs from what was stored"
    return None


def _derive_into(entry: Path, source: Path) -> dict:
    """Derive and verify in a temporary folder, then move it into place in one step.

    The caller holds the entry's lock, and the entry does not exist.
    """
    work = Path(tempfile.mkdtemp(prefix=f".{entry.name}{_TEMP}", dir=entry.parent))
    try:
        manifest = _derive_all(source, work)
        manifest_bytes = json.dumps(manifest, indent=2).encode("utf-8")
        replace_atomically(work / _MANIFEST, manifest_bytes)
        os.replace(work, entry)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _derive_all(source: Path, work: Path) -> dict:
    """Try each level, fastest first; keep the first whose graphs pass verification."""
    failures: dict[str, str] = {}
    manifest = {
        "version": DERIVATION_VERSION,
        "verification": VERIFICATION_VERSION,
        "source": source.name,
        "source_path": str(source.resolve()),
        "failures": failures,
    }
    for level in LEVELS:
        try:
            signature, files = _derive_level(source, level, work)
        except (OSError, MemoryError):
            raise  # a full disk or memory is no verdict on the graphs
        except Exception as error:  # anything else means: do not use these graphs
            failures[level] = f"{type(error).__name__}: {error}"
            shutil.rmtree(work / level, ignore_errors=True)
        else:
            return {**manifest, "level": level, "signature": asdict(signature), "files": files}
    return {**manifest, "level": None, "signature": None, "files": {}}


def _derive_level(source: Path, level: str, work: Path) -> tuple[StepSignature, dict[str, str]]:
    """Derive `level` into `work/level`, verify it and store it optimized; raises on failure."""
    started = time.perf_counter()
    folder, scratch = work / level, work / "verify"
    folder.mkdir()
    derived = derive(load_model(source), level)
    raw = {role: folder / f"derived-{role}.onnx" for role in ("prepare", "step")}
    save_model(derived.prepare, raw["prepare"])
    save_model(derived.step, raw["step"])
    signature, precision = derived.signature, derived.precision
    del derived  # the step graph holds the decoder's weights
    scratch.mkdir()
    try:
        verify(
            source,
            raw["prepare"],
            raw["step"],
            precision=precision,
            signature=signature,
            work=scratch,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    files = {}
    for role, path in raw.items():  # one copy per graph: the optimized one replaces it
        stored = folder / f"{role}.onnx"
        save_optimized(path, stored)
        path.unlink()
        files[f"{level}/{role}.onnx"] = file_hash(stored)
    elapsed = time.perf_counter() - started
    log.info("derived and verified %s graphs for %s in %.2f s", level, source.name, elapsed)
    return signature, files


def clear_cache(cache_dir: Path) -> int:
    """Remove every derived graph and optimized copy under `cache_dir`; returns bytes freed."""
    if not cache_dir.is_dir():
        return 0
    freed = sum(p.stat().st_size for p in cache_dir.rglob("*") if p.is_file())
    for child in cache_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    return freed
