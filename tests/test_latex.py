"""Cleanup and copy formats of recognized LaTeX."""

import pytest

from mathpad.latex import COPY_FORMATS, clean, for_copy


def test_clean_strips_and_collapses_spaces() -> None:
    assert clean("  x ^ { 2 }   +\t 1  ") == "x ^ { 2 } + 1"


def test_clean_keeps_line_breaks_and_drops_empty_lines() -> None:
    assert clean(" a = 1 \n\n   b  = 2\n") == "a = 1\nb = 2"


def test_clean_drops_control_characters() -> None:
    assert clean("x\x05+\x0e1\x7f") == "x+1"


def test_clean_of_blank_is_empty() -> None:
    assert clean(" \n \t ") == ""


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("as_is", r"\frac {1} {2}"),
        ("inline", r"$\frac {1} {2}$"),
        ("display", r"\[\frac {1} {2}\]"),
    ],
)
def test_copy_formats(fmt: str, expected: str) -> None:
    assert for_copy(r"  \frac  {1} {2} ", fmt) == expected  # type: ignore[arg-type]


def test_display_of_several_lines_puts_them_on_their_own_lines() -> None:
    assert for_copy("a=1\nb=2", "display") == "\\[\na=1\nb=2\n\\]"


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="as_is, inline, display"):
        for_copy("x", "markdown")  # type: ignore[arg-type]


def test_formats_are_listed() -> None:
    assert COPY_FORMATS == ("as_is", "inline", "display")
