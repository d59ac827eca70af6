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

from mathpad import cli
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


def test_records_stream_in_input_order_duplicates_included(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`a.png a.png b.inkml`: three records in order, the first two out before b is read."""
    image, ink = str(IMAGES / image_names()[0]), INK / "two_lines.inkml"
    load, before_ink = cli._load, []

    def load_after_looking(path: Path) -> object:
        if path == ink:  # what had been printed (and flushed) when the last input is read
            before_ink.append(capsys.readouterr().out)
        return load(path)

    monkeypatch.setattr(cli, "_load", load_after_looking)
    code, rest, _ = _run(capsys, "recognize", "--json", "--model", str(MODELS / "optimum"),
                         image, image, str(ink))  # fmt: skip
    assert code == 0
    (early,) = before_ink
    assert len(early.splitlines()) == 2  # both image records, before the ink was even opened
    records = [json.loads(line) for line in (early + rest).splitlines()]
    assert [r["path"] for r in records] == [image, image, str(ink)]
    assert records[0]["token_ids"] == records[1]["token_ids"]
    assert len(records[2]["expressions"]) == 2


def test_plain_output_is_one_line_per_file_even_for_a_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "recognize", "--model", str(MODELS / "optimum"),
                        str(INK / "two_lines.inkml"), str(IMAGES / image_names()[0]))  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and " \\\\ " in lines[0]


def test_join_aligned_gives_one_aligned_block(capsys: pytest.CaptureFixture[str]) -> None:
    model = str(MODELS / "optimum")
    code, out, _ = _run(capsys, "recognize", "--model", model, "--json", "--join", "aligned",
                        str(INK / "two_lines.inkml"))  # fmt: skip
    record = json.loads(out)
    assert code == 0
    rows = record["latex"].splitlines()
    assert rows[0] == "\\begin{aligned}" and rows[-1] == "\\end{aligned}"
    assert len(rows) == 4 and rows[1].endswith(" \\\\") and all("&" in r for r in rows[1:3])
    assert record["text"] == " ".join(rows)  # the plain output's one line


def test_json_carries_token_probabilities_decoder_and_alternatives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "recognize", "--model", str(MODELS / "optimum"), "--json",
                          "--alternatives", "3", str(IMAGES / image_names()[1]))  # fmt: skip
    assert code == 0, err
    record = json.loads(out)
    assert len(record["token_probs"]) == len(record["token_ids"]) - 1
    assert all(0 < p <= 1 for p in record["token_probs"])
    assert record["decoder"] in ("cached", "hoisted", "plain") and record["draft_accepted"] == 0
    alternatives = record["alternatives"]
    assert 1 <= len(alternatives) <= 3
    scores = [a["score"] for a in alternatives]
    assert scores == sorted(scores, reverse=True)
    assert record["text"] not in [a["latex"] for a in alternatives]
    assert len({a["latex"] for a in alternatives}) == len(alternatives)


def test_save_pieces_writes_what_the_model_saw(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "pieces"
    code, out, _ = _run(capsys, "recognize", "--model", str(MODELS / "optimum"), "--json",
                        "--save-pieces", str(folder), str(INK / "two_lines.inkml"))  # fmt: skip
    record = json.loads(out)
    saved = sorted(folder.glob("two_lines-*.png"))
    assert code == 0 and len(saved) == len(record["token_ids"]) >= 2
    with Image.open(saved[0]) as piece:
        assert piece.width > piece.height > 0  # a line padded to the model's 3:2, not the page


def test_save_pieces_into_an_unwritable_place_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ink = str(INK / "two_lines.inkml")
    code, _, err = _run(capsys, "recognize", "--model", str(MODELS / "optimum"),
                        "--save-pieces", str(blocker / "sub"), ink)  # fmt: skip
    assert code == 1 and "cannot save the pieces" in err and len(err.strip().splitlines()) == 1
