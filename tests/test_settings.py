"""Settings persist as JSON and survive a broken file."""

import json
import logging
from pathlib import Path

import pytest

from mathpad import settings as settings_mod
from mathpad.errors import InputError
from mathpad.settings import Settings, load_settings, save_settings


@pytest.fixture(autouse=True)
def config_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings_mod, "config_dir", lambda: tmp_path / "config")
    return tmp_path / "config"


def test_missing_file_gives_defaults() -> None:
    assert load_settings() == Settings()


def test_round_trip_in_the_config_dir(config_in_tmp: Path) -> None:
    wanted = Settings(model="/models/m", variant="fp32", delay_ms=900, pen_width=4.0)
    save_settings(wanted)
    assert (config_in_tmp / "settings.json").is_file()
    assert load_settings() == wanted


def test_save_leaves_no_temp_files(config_in_tmp: Path) -> None:
    save_settings(Settings())
    save_settings(Settings(delay_ms=100))
    assert [p.name for p in config_in_tmp.iterdir()] == ["settings.json"]


def test_corrupt_file_keeps_defaults_and_logs(
    config_in_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_in_tmp.mkdir(parents=True)
    (config_in_tmp / "settings.json").write_text('{"delay_ms": 9', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_settings() == Settings()
    assert "unreadable settings file" in caplog.text


def test_bad_values_fall_back_one_by_one(
    config_in_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_in_tmp.mkdir(parents=True)
    data = {"delay_ms": "soon", "pen_width": 3, "variant": "fp16", "copy_format": "x", "new": 1}
    (config_in_tmp / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        got = load_settings()
    assert got == Settings(variant="fp16", pen_width=3.0)
    assert "delay_ms='soon'" in caplog.text
    assert "copy_format='x'" in caplog.text


def test_non_object_json_keeps_defaults(config_in_tmp: Path) -> None:
    config_in_tmp.mkdir(parents=True)
    (config_in_tmp / "settings.json").write_text("[1, 2]", encoding="utf-8")
    assert load_settings() == Settings()


def test_negative_or_boolean_numbers_are_refused(config_in_tmp: Path) -> None:
    config_in_tmp.mkdir(parents=True)
    data = {"delay_ms": -5, "pen_width": True}
    (config_in_tmp / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    assert load_settings() == Settings()


def test_unwritable_folder_is_a_clear_error(config_in_tmp: Path) -> None:
    config_in_tmp.parent.mkdir(parents=True, exist_ok=True)
    config_in_tmp.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(InputError, match="cannot save settings"):
        save_settings(Settings())
