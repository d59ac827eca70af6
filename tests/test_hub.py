"""Downloads from a local fake hub on 127.0.0.1: faults, hashes, repair, progress, cancel."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import huggingface_hub
import pytest
from fake_hub import FakeHub, closed_port, serve, silent_socket
from huggingface_hub import constants
from support import IMAGES

from mathpad.errors import Cancelled, ModelError, ModelNotDownloadedError
from mathpad.model import store
from mathpad.model.diagnose import explain
from mathpad.model.store import (
    check_model_folder,
    download_model,
    download_size,
    repair_model,
    resolve_model,
    verify_model,
)

REPO = "someone/tiny-latex"


@pytest.fixture
def model_folder(tmp_path: Path, copy_model: Callable[..., Path]) -> Path:
    return copy_model("optimum", tmp_path / "source", variants=("_int8",))


@pytest.fixture
def hub(model_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    fake = FakeHub.from_folder(REPO, model_folder)
    with serve(fake):
        _point_at(fake.url, tmp_path, monkeypatch)
        yield fake


def _point_at(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True, raising=False)


def _gets(hub: FakeHub) -> list[str]:
    return [path for method, path in hub.requests if method == "GET"]


def test_a_download_is_verified_and_then_used_without_the_network(hub: FakeHub) -> None:
    files = resolve_model(REPO, "int8")
    assert files.decoder.read_bytes() == hub.files["onnx/decoder_model_int8.onnx"]
    assert all(check.ok for check in verify_model(REPO, "int8"))
    hub.requests.clear()
    assert resolve_model(REPO, "int8").root == files.root
    assert hub.requests == []


def test_a_cached_model_answers_at_once_when_the_hub_never_answers(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_model(REPO, "int8")
    with silent_socket() as url:
        _point_at(url, tmp_path, monkeypatch)
        began = time.perf_counter()
        resolve_model(REPO, "int8")
        assert time.perf_counter() - began < 1.0


def test_an_unreachable_hub_fails_within_five_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with silent_socket() as url:
        _point_at(url, tmp_path, monkeypatch)
        began = time.perf_counter()
        with pytest.raises(ModelNotDownloadedError, match="did not answer in time") as caught:
            download_model(REPO, "int8")
        assert time.perf_counter() - began < 5.0
    assert "\n" not in str(caught.value) and REPO in str(caught.value)


def test_the_first_start_asks_the_hub_for_the_size_before_claiming_anything(
    hub: FakeHub,
) -> None:
    names = (*store.REQUIRED_FILES, *store.onnx_names("int8"), *store.OPTIONAL_FILES)
    assert download_size(REPO, "int8") == sum(len(hub.files[name]) for name in names)
    assert all(method == "HEAD" for method, _ in hub.requests), hub.requests
    with pytest.raises(ModelError, match="choose another --variant"):
        download_size(REPO, "q4")


def test_a_refused_connection_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_at(closed_port(), tmp_path, monkeypatch)
    with pytest.raises(
        ModelNotDownloadedError, match=r"cannot connect to http://127\.0\.0\.1"
    ) as caught:
        download_model(REPO, "int8")
    assert "config.json" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "words"),
    [("500", "answered 500"), ("reset", "cut"), ("stall", "did not answer in time")],
)
def test_a_network_fault_during_a_download_names_repo_file_and_fix(
    hub: FakeHub, fault: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub library retries a cut or stalled transfer five times, a second apart: keep
    # its pauses and the read timeout short here, the outcome is the same.
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 0.2)
    hub.faults["onnx/decoder_model_int8.onnx"] = fault
    with pytest.raises(ModelNotDownloadedError) as caught:
        download_model(REPO, "int8")
    message = str(caught.value)
    assert words in message, message
    assert REPO in message and "onnx/decoder_model_int8.onnx" in message
    assert "mathpad model download" in message and "\n" not in message


def test_a_missing_optional_file_is_tolerated_but_a_failing_one_is_reported(
    hub: FakeHub,
) -> None:
    del hub.files["special_tokens_map.json"]
    hub.faults["generation_config.json"] = "500"
    with pytest.raises(ModelNotDownloadedError, match=r"generation_config\.json.*answered 500"):
        download_model(REPO, "int8")
    del hub.faults["generation_config.json"]
    folder = download_model(REPO, "int8")
    assert not (folder / "special_tokens_map.json").exists()
    hub.requests.clear()
    resolve_model(REPO, "int8")  # the absence is recorded: no need to ask again
    assert hub.requests == []


def test_a_damaged_file_is_found_and_exactly_it_is_repaired(hub: FakeHub) -> None:
    files = resolve_model(REPO, "int8")
    data = bytearray(files.decoder.read_bytes())
    data[len(data) // 2] ^= 0x01
    files.decoder.write_bytes(bytes(data))
    with pytest.raises(
        ModelError, match="mathpad model repair --model someone/tiny-latex --variant int8"
    ):
        resolve_model(REPO, "int8")
    bad = [check.name for check in verify_model(REPO, "int8") if not check.ok]
    assert bad == ["onnx/decoder_model_int8.onnx"]
    hub.requests.clear()
    assert repair_model(REPO, "int8") == bad
    assert _gets(hub) == [f"/{REPO}/resolve/main/onnx/decoder_model_int8.onnx"]
    assert resolve_model(REPO, "int8").decoder.read_bytes() == hub.files[bad[0]]


def test_a_load_failure_of_a_file_that_passes_onnxs_check_is_blamed_on_its_hash(
    hub: FakeHub,
) -> None:
    """A flipped weight byte: onnx's checker passes, the hub's recorded hash does not."""
    files = resolve_model(REPO, "int8")
    data = bytearray(files.decoder.read_bytes())
    data[-100] ^= 0x01
    files.decoder.write_bytes(bytes(data))
    error = explain(files.decoder, RuntimeError("[ONNXRuntimeError] : 1 : FAIL"), files)
    assert "differ from the hub's recorded hash" in str(error)
    assert "mathpad model repair --model someone/tiny-latex --variant int8" in str(error)


def test_a_local_folder_has_no_hashes_and_says_so(model_folder: Path) -> None:
    with pytest.raises(ModelError, match="local folder: it has no recorded hashes"):
        verify_model(str(model_folder), "int8")


def test_a_chosen_folder_is_checked_before_it_is_saved(model_folder: Path, tmp_path: Path) -> None:
    assert check_model_folder(model_folder) == "int8"
    no_onnx = tmp_path / "no-onnx"
    no_onnx.mkdir()
    for name in store.REQUIRED_FILES:
        (no_onnx / name).write_bytes((model_folder / name).read_bytes())
    with pytest.raises(ModelError, match="holds no encoder and decoder"):
        check_model_folder(no_onnx)
    with pytest.raises(ModelError, match=r"encoder_model_q4\.onnx is missing"):
        check_model_folder(model_folder, "q4")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match=r"config\.json is missing"):
        check_model_folder(empty)
    (model_folder / "config.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ModelError, match="not UTF-8"):
        check_model_folder(model_folder)


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"\xff\xfe{", "not UTF-8"), (b'{"decoder": ', "not JSON"), (b"[]", "not an object")],
)
def test_a_damaged_config_json_is_one_line(model_folder: Path, content: bytes, words: str) -> None:
    (model_folder / "config.json").write_bytes(content)
    with pytest.raises(ModelError, match=words) as caught:
        resolve_model(model_folder, "int8")
    assert "\n" not in str(caught.value)


def _two_bar_download(real: Callable[..., str]) -> Callable[..., str]:
    """hf_hub_download as the Xet reporter drives it: two bars counting the same bytes."""

    def fake(
        repo_id: str, filename: str, *, tqdm_class: type | None = None, **kwargs: object
    ) -> str:
        path = real(repo_id, filename, **kwargs)
        size = Path(path).stat().st_size
        if tqdm_class is not None:
            total, transfer = tqdm_class(total=size), tqdm_class(total=size)
            for start in range(0, size, 65536):
                step = min(65536, size - start)
                transfer.update(step)
                total.update(step)
            total.close()
            transfer.close()
        return path

    return fake


def test_progress_is_one_total_that_never_goes_back_and_counts_bytes_once(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", _two_bar_download(huggingface_hub.hf_hub_download)
    )
    seen: list[tuple[int, int]] = []
    download_model(REPO, "int8", progress=lambda done, total: seen.append((done, total)))
    names = (*store.REQUIRED_FILES, *store.onnx_names("int8"), *store.OPTIONAL_FILES)
    expected = sum(len(hub.files[name]) for name in names)
    assert {total for _, total in seen} == {expected}
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and dones[-1] == expected and len(dones) > 10


def test_cancel_stops_the_download_and_keeps_no_partial_file(hub: FakeHub, tmp_path: Path) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    big = "onnx/decoder_model_int8.onnx"
    hub.files[big] = hub.files[big] * 8  # several chunks, so the cancel lands mid-file
    with pytest.raises(Cancelled, match="cancelled"):
        download_model(REPO, "int8", progress=progress, cancel=cancel)
    assert not list((tmp_path / "hub").rglob("*.incomplete"))


def test_recognize_stops_with_the_repair_command_and_repair_fixes_it(
    hub: FakeHub, tmp_path: Path
) -> None:
    """The acceptance test, through the command line and HF_ENDPOINT, as a user meets it."""
    env = {
        **os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HUB_OFFLINE": "0", "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HF_HUB_DISABLE_XET": "1",
    }  # fmt: skip
    model = ["--model", REPO, "--variant", "int8"]

    def mathpad(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mathpad.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    image = str(IMAGES / "fraction_l.png")
    assert mathpad("model", "download", *model).returncode == 0
    decoder = next((tmp_path / "hub").rglob("decoder_model_int8.onnx"))
    data = bytearray(decoder.read_bytes())
    data[-100] ^= 0x01
    decoder.write_bytes(bytes(data))
    broken = mathpad("recognize", *model, image)
    assert broken.returncode == 1
    assert broken.stderr.count("\n") == 1
    assert "mathpad model repair --model someone/tiny-latex --variant int8" in broken.stderr
    assert mathpad("model", "verify", *model).returncode == 1
    repaired = mathpad("model", "repair", *model)
    assert repaired.returncode == 0 and "decoder_model_int8.onnx" in repaired.stdout
    assert mathpad("recognize", *model, image).returncode == 0
    assert mathpad("model", "verify", *model).returncode == 0
    assert all("/resolve/" in path for _, path in hub.requests)  # nothing but the files
