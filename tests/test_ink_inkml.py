"""InkML in MathWriting's format: the hand-written files, round trips and bad input."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from mathpad.errors import InputError
from mathpad.ink import inkml
from mathpad.ink.inkml import parse_inkml, read_inkml, to_inkml, write_inkml
from mathpad.ink.strokes import Ink, Stroke

DATA = Path(__file__).parent / "data" / "ink"
HEADER = '<ink xmlns="http://www.w3.org/2003/InkML">'


def test_reads_a_mathwriting_style_file_with_its_trace_format() -> None:
    ink = read_inkml(DATA / "x_squared.inkml")
    assert ink.annotations["normalizedLabel"] == "x^{2}"
    assert ink.annotations["sampleId"] == "mathpad-x-squared"
    assert [len(s.points) for s in ink.strokes] == [5, 5, 7]
    assert ink.strokes[0].points[1].tolist() == [115.0, 222.5, 16.0]


def test_reads_two_coordinate_points_with_zero_time() -> None:
    ink = read_inkml(DATA / "fraction.inkml")
    assert ink.annotations["label"] == "\\frac{1}{2}"
    assert ink.strokes[1].points.tolist() == [[100, 185, 0], [160, 186, 0], [220, 185, 0]]


def test_reads_traces_nested_in_trace_groups_but_only_root_annotations() -> None:
    text = (
        f'{HEADER}<annotation type="truth">$x$</annotation><trace id="0">1 2, 3 4</trace>'
        '<traceGroup><annotation type="truth">Segmentation</annotation>'
        '<trace id="1">5 6, 7 8</trace></traceGroup></ink>'
    )
    ink = parse_inkml(text)
    assert len(ink.strokes) == 2 and dict(ink.annotations) == {"truth": "$x$"}


@pytest.mark.parametrize("name", ["x_squared", "fraction", "two_lines"])
def test_files_survive_a_write_and_read_round_trip(name: str, tmp_path: Path) -> None:
    ink = read_inkml(DATA / f"{name}.inkml")
    write_inkml(ink, tmp_path / "copy.inkml")
    again = read_inkml(tmp_path / "copy.inkml")
    assert again == ink
    assert dict(again.annotations) == dict(ink.annotations)


def test_round_trip_keeps_pressure_and_exact_floats_and_escapes_text() -> None:
    rng = np.random.default_rng(1)
    strokes = tuple(Stroke(rng.normal(size=(9, 3)) * 1e3, rng.random(9)) for _ in range(3))
    ink = Ink(strokes, {"label": 'a<b & "c"', "sampleId": "ß-1"})
    assert parse_inkml(to_inkml(ink)) == ink
    assert parse_inkml(to_inkml(ink).encode("utf-8")).annotations["sampleId"] == "ß-1"


def test_pressure_is_dropped_when_only_some_strokes_have_it() -> None:
    ink = Ink((Stroke(np.ones((2, 3)), np.ones(2)), Stroke(np.zeros((2, 3)))))
    assert all(s.pressure is None for s in parse_inkml(to_inkml(ink)).strokes)


def test_a_single_point_reads_and_writes() -> None:
    ink = parse_inkml(f"{HEADER}<trace>3.5 4.25 7</trace></ink>")
    assert ink.strokes[0].points.tolist() == [[3.5, 4.25, 7.0]]
    assert parse_inkml(to_inkml(ink)) == ink


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (f"{HEADER}<trace>1 2 3, 4 5 6</ink>", "not well-formed XML"),
        ("just some text", "not well-formed XML"),
        ("", "not well-formed XML"),
        (f'{HEADER}<annotation type="label">x</annotation></ink>', "no <trace>"),
        ('<svg xmlns="http://www.w3.org/2000/svg"/>', "root element is <svg>"),
        (f"{HEADER}<trace>1 2 3, 4 nan 6</trace></ink>", "point 2: Y is nan"),
        (f"{HEADER}<trace>1 2 3</trace><trace>inf 2 3</trace></ink>", "trace 2, point 1: X is inf"),
        (f"{HEADER}<trace>1 2 -1e309</trace></ink>", "T is -inf"),
        (f"{HEADER}<trace>1 2 3, 4 5</trace></ink>", "point 2 has 2 values"),
        (f"{HEADER}<trace>1 2 3, </trace></ink>", "empty point"),
        (f"{HEADER}<trace>1 2 3 4, 5 6 7 8</trace></ink>", "4 values per point"),
        (f"{HEADER}<trace>1 2q 3</trace></ink>", "'2q' is not a number"),
        (
            f"{HEADER}<traceFormat><channel name='T'/></traceFormat><trace>1</trace></ink>",
            "X and Y",
        ),
        ('<!DOCTYPE ink [<!ENTITY a "aaaaaaaa">]><ink><trace>&a;</trace></ink>', "entity"),
    ],
)
def test_bad_input_is_an_input_error_naming_the_file_and_the_fault(
    text: str, complaint: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_inkml(text, source="drawing.inkml")
    assert "drawing.inkml" in str(caught.value)
    assert complaint in str(caught.value)


def test_the_first_trace_format_maps_channels_by_name() -> None:
    text = (
        f"{HEADER}<traceFormat><channel name='T'/><channel name='Y'/><channel name='F'/>"
        "<channel name='X'/></traceFormat><traceFormat><channel name='Z'/></traceFormat>"
        "<trace>10 2 0.5 1, 20 4 0.25 3</trace></ink>"
    )
    stroke = parse_inkml(text).strokes[0]
    assert stroke.points.tolist() == [[1, 2, 10], [3, 4, 20]]
    assert stroke.pressure is not None and stroke.pressure.tolist() == [0.5, 0.25]


def test_missing_directory_and_oversized_files_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_inkml(tmp_path / "nowhere.inkml")
    with pytest.raises(InputError, match="is a folder"):
        read_inkml(tmp_path)
    fifo = tmp_path / "pipe.inkml"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    with pytest.raises(InputError, match="not a regular file"):
        read_inkml(fifo)
    big = tmp_path / "big.inkml"
    big.write_text(f"{HEADER}<trace>1 2 3</trace></ink>")
    monkeypatch.setattr(inkml, "MAX_INKML_BYTES", 20)
    with pytest.raises(InputError, match=r"big.inkml is .* MiB; mathpad reads a drawing \(InkML\)"):
        read_inkml(big)


def test_a_million_point_ink_reads_and_writes_in_seconds(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    points = np.round(rng.uniform(0, 2000, (1_000_000, 3)), 2)
    ink = Ink(tuple(Stroke(chunk) for chunk in np.split(points, 500)))
    began = time.perf_counter()
    write_inkml(ink, tmp_path / "big.inkml")
    assert read_inkml(tmp_path / "big.inkml") == ink
    assert time.perf_counter() - began < 15


def test_write_is_atomic_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "drawing.inkml"
    first = read_inkml(DATA / "fraction.inkml")
    write_inkml(first, target)

    def full_disk(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(InputError, match="No space left"):
        write_inkml(read_inkml(DATA / "x_squared.inkml"), target)
    assert read_inkml(target) == first
    assert [p.name for p in tmp_path.iterdir()] == ["drawing.inkml"]


def test_writing_into_a_missing_folder_or_an_empty_drawing_is_refused(tmp_path: Path) -> None:
    ink = read_inkml(DATA / "fraction.inkml")
    with pytest.raises(InputError, match="cannot write"):
        write_inkml(ink, tmp_path / "missing" / "drawing.inkml")
    with pytest.raises(InputError, match="empty"):
        write_inkml(Ink(()), tmp_path / "drawing.inkml")
    assert not (tmp_path / "drawing.inkml").exists()


# --- InkML as other producers write it -------------------------------------------------------

# Office and Windows Ink: the inkml: prefix, the trace format inside definitions / context /
# inkSource, integer channels X, Y, F (force), and difference-encoded traces whose values are
# run together by their qualifiers.
WINDOWS_INK = """<?xml version="1.0" encoding="UTF-8"?>
<inkml:ink xmlns:inkml="http://www.w3.org/2003/InkML">
 <inkml:definitions>
  <inkml:context xml:id="ctx0">
   <inkml:inkSource xml:id="inkSrc0">
    <inkml:traceFormat>
     <inkml:channel name="X" type="integer" max="32767" units="himetric"/>
     <inkml:channel name="Y" type="integer" max="32767" units="himetric"/>
     <inkml:channel name="F" type="integer" max="4095" units="dev"/>
    </inkml:traceFormat>
    <inkml:channelProperties>
     <inkml:channelProperty channel="X" name="resolution" value="1000" units="1/cm"/>
    </inkml:channelProperties>
   </inkml:inkSource>
  </inkml:context>
  <inkml:brush xml:id="br0">
   <inkml:brushProperty name="width" value="0.05" units="cm"/>
  </inkml:brush>
 </inkml:definitions>
 <inkml:trace contextRef="#ctx0" brushRef="#br0">8311 6322 1024,'5'-3'0,"2"1'0</inkml:trace>
 <inkml:trace contextRef="#ctx0" brushRef="#br0">9000 6300 900,'-4'6'10</inkml:trace>
</inkml:ink>
"""

# OneNote's export: its own trace format with the time channel first, then X, Y; explicit
# first points, then first differences without spaces.
ONENOTE = """<inkml:ink xmlns:inkml="http://www.w3.org/2003/InkML"
  xmlns:msink="http://schemas.microsoft.com/ink/2010/main">
 <inkml:definitions>
  <inkml:context xml:id="ctxCoreInk">
   <inkml:inkSource xml:id="inkSrcCoreInk">
    <inkml:traceFormat>
     <inkml:channel name="T" type="integer" units="ms"/>
     <inkml:channel name="X" type="integer" units="cm"/>
     <inkml:channel name="Y" type="integer" units="cm"/>
    </inkml:traceFormat>
   </inkml:inkSource>
  </inkml:context>
 </inkml:definitions>
 <inkml:traceGroup>
  <inkml:trace contextRef="#ctxCoreInk">0 7011 5417,'8'12'-3,'8'10'0,'8'9'4</inkml:trace>
 </inkml:traceGroup>
</inkml:ink>
"""

# CROHME / MathWriting: X Y channels, trace groups, the label as `truth`.
CROHME = """<ink xmlns="http://www.w3.org/2003/InkML">
<traceFormat><channel name="X" type="decimal"/><channel name="Y" type="decimal"/></traceFormat>
<annotation type="truth">$x^2$</annotation>
<trace id="0">10 10, 30 40</trace><trace id="1">30 10, 10 40</trace>
<trace id="2">40 0, 50 0, 40 10, 50 10</trace>
<traceGroup xml:id="3"><annotation type="truth">Segmentation</annotation>
 <traceGroup xml:id="4"><annotation type="truth">x</annotation>
  <traceView traceDataRef="0"/><traceView traceDataRef="1"/></traceGroup>
</traceGroup>
</ink>
"""


def test_windows_ink_first_and_second_differences_run_together() -> None:
    ink = parse_inkml(WINDOWS_INK)
    first, second = ink.strokes
    assert first.xy.tolist() == [[8311, 6322], [8316, 6319], [8323, 6317]]
    assert first.pressure is not None and first.pressure.tolist() == [1024, 1024, 1024]
    assert second.xy.tolist() == [[9000, 6300], [8996, 6306]]


def test_onenote_channels_in_its_own_order_with_differences() -> None:
    stroke = parse_inkml(ONENOTE).strokes[0]
    assert stroke.xy.tolist() == [[7011, 5417], [7023, 5414], [7033, 5414], [7042, 5418]]
    assert stroke.points[:, 2].tolist() == [0, 8, 16, 24]  # T, first differences of 8 ms


def test_crohme_files_read_every_trace_and_the_root_label() -> None:
    ink = parse_inkml(CROHME)
    assert len(ink.strokes) == 3 and ink.annotations["truth"] == "$x^2$"
    assert ink.strokes[2].points.tolist() == [[40, 0, 0], [50, 0, 0], [40, 10, 0], [50, 10, 0]]


def test_a_qualifier_holds_for_its_channel_until_another_is_given() -> None:
    ink = parse_inkml(f"""{HEADER}<trace>10 20,'5'-3,"2"1,-1 0</trace></ink>""")
    assert ink.strokes[0].xy.tolist() == [[10, 20], [15, 17], [22, 15], [28, 13]]


def test_numbers_run_together_by_their_signs_explicit_marks_and_hex_values() -> None:
    ink = parse_inkml(f"{HEADER}<trace>0 0,7-2,'1!5,!#1F-#A</trace></ink>")
    assert ink.strokes[0].xy.tolist() == [[0, 0], [7, -2], [8, 5], [31, -10]]


@pytest.mark.parametrize(
    ("trace", "complaint"),
    [
        ("'1 2, 3 4", "begins with a difference ('1), not a value"),
        ("1 2, 3 ?", "has the value '?'; mathpad reads numbers only"),
        ("1 2, * 4", "has the value '*'"),
        ("1 2,'3 4x", "'x' is not a number"),
        ("1 2,'3", "point 2 has 1 values, point 1 has 2"),
    ],
)
def test_what_is_not_read_of_the_qualified_encoding_is_named(trace: str, complaint: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_inkml(f"{HEADER}<trace>{trace}</trace></ink>", source="pad.inkml")
    assert str(caught.value).startswith("pad.inkml") and complaint in str(caught.value)


def test_intermittent_channels_are_named_as_not_read() -> None:
    text = (
        f"{HEADER}<traceFormat><channel name='X'/><channel name='Y'/><intermittentChannels>"
        "<channel name='S1' type='boolean'/></intermittentChannels></traceFormat>"
        "<trace>1 2 T, 3 4</trace></ink>"
    )
    with pytest.raises(InputError, match="intermittent channels S1, which mathpad does not"):
        parse_inkml(text, source="pad.inkml")


def test_an_unknown_text_encoding_is_one_line_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "odd.inkml"
    path.write_bytes(b'<?xml version="1.0" encoding="bogus-8"?>' + HEADER.encode() + b"</ink>")
    with pytest.raises(InputError) as caught:
        read_inkml(path)
    message = str(caught.value)
    assert str(path) in message and "save it again as UTF-8" in message and "\n" not in message


@pytest.mark.parametrize("size", ["1e-310", "5e-324", "1e-9"])
def test_a_drawing_too_small_to_draw_is_refused_by_name(size: str) -> None:
    text = f"{HEADER}<trace>0 0, {size} {size}</trace></ink>"
    with pytest.raises(InputError, match=r"tiny.inkml: the drawing is only .* export it again"):
        parse_inkml(text, source="tiny.inkml")
    assert parse_inkml(f"{HEADER}<trace>5 5, 5 5</trace></ink>").strokes  # a dot is fine
