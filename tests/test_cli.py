"""The `mathpad` command as a user runs it: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from support import IMAGES, MODELS, image_names

from mathpad.cli import main

INK = Path(__file__).parent / "data" / "ink"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_answers_without_loading_onnxruntime() -> None:
    script = (
        "import sys\nfrom mathpad.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print('onnxruntime' in sys.modules, 'PySide6' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["mathpad", "0.1.0", "False", "False"]


def test_json_output_carries_the_reference_tokens(
    capsys: pytest.CaptureFixture[str], reference: dict[str, Any]
) -> None:
    name = next(iter(reference["fixtures"]["optimum"]["images"]))
    model = str(MODELS / "optimum")
    code, out, err = _run(capsys, "recognize", "--model", model, "--variant", "fp32", "--json",
                          str(IMAGES / name))  # fmt: skip
    assert code == 0, err
    record = json.loads(out)
    expected = reference["fixtures"]["optimum"]["images"][name]
    assert record["token_ids"] == expected["token_ids"]
    assert record["latex"] == expected["latex"]
    assert record["path"] == str(IMAGES / name) and record["seconds"] > 0


def test_plain_output_is_one_line_per_image(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(IMAGES / n) for n in image_names()[:3]]
    code, out, _ = _run(capsys, "recognize", "--model", str(MODELS / "torch"), *paths)
    assert code == 0
    assert len(out.splitlines()) == 3


def test_one_broken_file_does_not_stop_the_others(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = str(IMAGES / image_names()[0])
    code, out, err = _run(capsys, "recognize", "--model", str(MODELS / "optimum"), "--json",
                          good, str(broken), str(tmp_path / "missing.png"))  # fmt: skip
    assert code == 1
    assert [json.loads(line)["path"] for line in out.splitlines()] == [good]
    lines = err.strip().splitlines()
    assert len(lines) == 2 and str(broken) in lines[0] and "missing.png" in lines[1]
    assert "Traceback" not in err


def test_inkml_is_recognized_as_a_page(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "recognize", "--model", str(MODELS / "optimum"), "--json",
                        str(INK / "two_lines.inkml"))  # fmt: skip
    record = json.loads(out)
    assert code == 0
    assert len(record["expressions"]) == 2 and len(record["token_ids"]) >= 2


def test_a_bad_model_folder_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, "recognize", "--model", str(tmp_path / "none"),
                          str(IMAGES / image_names()[0]))  # fmt: skip
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "does not exist" in err


@pytest.mark.parametrize(
    "args",
    [["recognize"], ["recognize", "--max-length", "1", "x.png"], ["--no-such-option"],
     ["recognize", "--variant", "int3", "x.png"]],
)  # fmt: skip
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_render_writes_what_the_model_sees(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "x.png"
    code, _, _ = _run(capsys, "render", str(INK / "x_squared.inkml"), str(output))
    assert code == 0
    with Image.open(output) as image:
        assert image.mode == "RGB"
        assert abs(image.width / image.height - 1.5) < 0.02  # padded to 3:2


def test_render_of_broken_inkml_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.inkml"
    bad.write_text("<ink><trace>1 2, 3")
    code, _, err = _run(capsys, "render", str(bad), str(tmp_path / "out.png"))
    assert code == 1 and str(bad) in err and err.count("\n") == 1


def test_model_info_describes_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "model", "info", "--model", str(MODELS / "optimum"))
    assert code == 0
    assert "decoder_model.onnx" in out and "max length" in out  # fp32 unless asked


def _odd_images(folder: Path) -> list[Path]:
    """Valid but unusual files a user may hand over: each must be recognized like any other."""
    ink = Image.new("L", (90, 60), 255)
    ink.paste(0, (20, 28, 70, 32))
    names = ("one.png", "anim.gif", "cmyk.jpg", "deep.png", "palette.png", "strip.png")
    paths = {name: folder / name for name in names}
    Image.new("RGB", (1, 1), "white").save(paths["one.png"])
    ink.save(paths["anim.gif"], save_all=True, append_images=[Image.new("L", (90, 60), 0)])
    ink.convert("CMYK").save(paths["cmyk.jpg"])
    Image.fromarray((np.asarray(ink, dtype=np.uint16) * 257).astype(np.uint16)).save(
        paths["deep.png"]
    )
    ink.convert("P").save(paths["palette.png"], transparency=255)
    Image.new("L", (3, 300), 0).save(paths["strip.png"])
    return list(paths.values())


def test_odd_but_valid_images_are_recognized(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    paths = [str(p) for p in _odd_images(tmp_path)]
    code, out, err = _run(capsys, "recognize", "--model", str(MODELS / "optimum"), "--json", *paths)
    assert code == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == paths
