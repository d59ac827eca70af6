"""Settings persist as JSON and survive a broken file."""

import dataclasses
import json
import logging
import os
from pathlib import Path

import pytest

from mathpad import settings as settings_mod
from mathpad.errors import InputError
from mathpad.settings import Settings, SettingsRead, load_settings, read_settings, save_settings


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


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("delay_ms", 1e12),
        ("delay_ms", 2**31),
        ("delay_ms", 0),
        ("pen_width", 10**6),
        ("pen_width", float("nan")),
        ("variant", "bogus"),
        ("model", ""),
        ("copy_format", ["as_is"]),
    ],
)
def test_a_value_out_of_range_falls_back_with_one_notice(
    config_in_tmp: Path, field: str, value: object
) -> None:
    config_in_tmp.mkdir(parents=True)
    good = {"pen_width": 3.0} if field == "delay_ms" else {"delay_ms": 700}
    text = json.dumps({field: value, **good})
    (config_in_tmp / "settings.json").write_text(text, encoding="utf-8")
    read = read_settings()
    assert getattr(read.settings, field) == getattr(Settings(), field)
    assert dataclasses.asdict(read.settings).items() >= good.items()  # the good value is kept
    (notice,) = read.notices
    assert field in notice and "not usable" in notice and "\n" not in notice


def test_deeply_nested_json_keeps_defaults_with_one_notice(config_in_tmp: Path) -> None:
    config_in_tmp.mkdir(parents=True)
    (config_in_tmp / "settings.json").write_text("[" * 100_000 + "]" * 100_000)
    read = read_settings()
    assert read.settings == Settings() and len(read.notices) == 1
    assert "nested too deeply" in read.notices[0]


def test_a_settings_file_that_is_not_utf8_is_one_notice(config_in_tmp: Path) -> None:
    config_in_tmp.mkdir(parents=True)
    (config_in_tmp / "settings.json").write_bytes(b'{"variant": "\xff"}')
    read = read_settings()
    assert read.settings == Settings() and "not UTF-8" in read.notices[0]


def test_a_fifo_in_place_of_the_settings_file_does_not_hang(config_in_tmp: Path) -> None:
    config_in_tmp.mkdir(parents=True)
    os.mkfifo(config_in_tmp / "settings.json")
    read = read_settings()
    assert read.settings == Settings() and "not a regular file" in read.notices[0]


def test_good_values_give_no_notices(config_in_tmp: Path) -> None:
    save_settings(Settings(delay_ms=50, pen_width=20.0, variant="q4"))
    assert read_settings() == SettingsRead(Settings(delay_ms=50, pen_width=20.0, variant="q4"))


def test_a_failed_save_names_the_folder_and_the_reason(config_in_tmp: Path) -> None:
    config_in_tmp.mkdir(parents=True)
    (config_in_tmp / "settings.json").mkdir()  # the file's place is taken
    with pytest.raises(InputError, match=r"cannot save settings in .*config: .*directory"):
        save_settings(Settings())
