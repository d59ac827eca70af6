"""Cleanup, checks and copy formats of recognized LaTeX."""

import xml.etree.ElementTree as ET

import pytest

from mathpad.errors import InputError
from mathpad.latex import (
    COPY_FORMAT_NAMES,
    COPY_FORMATS,
    Problem,
    aligned,
    check,
    clean,
    for_copy,
    tidy,
    to_html,
    to_mathml,
)


def test_clean_strips_and_collapses_spaces() -> None:
    assert clean("  x ^ { 2 }   +\t 1  ") == "x ^ { 2 } + 1"


def test_clean_keeps_line_breaks_and_drops_empty_lines() -> None:
    assert clean(" a = 1 \n\n   b  = 2\n") == "a = 1\nb = 2"


def test_clean_drops_control_characters() -> None:
    assert clean("x\x05+\x0e1\x7f") == "x+1"


def test_clean_of_blank_is_empty() -> None:
    assert clean(" \n \t ") == ""


@pytest.mark.parametrize(
    ("raw", "tidied"),
    [
        # spelled-out operator names become the operator
        (r"\operatorname{s i n} x", r"\sin x"),
        (r"\operatorname {l o g}(x)", r"\log(x)"),
        (r"\operatorname{c o s}\theta", r"\cos\theta"),
        (r"\operatorname{s i n}x", r"\sin x"),  # a space keeps \sin from eating the x
        (r"\operatorname{a r g m a x}_x", r"\operatorname{argmax}_x"),
        (r"\operatorname*{a r g m i n}", r"\operatorname*{argmin}"),
        # stray spacing commands
        (r"\, x + 1 \quad", "x + 1"),
        (r"\quad \; x", "x"),
        (r"x \, \, y", r"x \, y"),
        (r"x \;\; y", r"x \; y"),
        (r"a \, b \; c", r"a \, b \; c"),  # different spacings in the middle stay
        # a decoding loop at the end
        ("x + y + y + y + y + y + y + y + y", "x + y"),
        (r"x^{2}^{2}^{2}^{2}^{2}^{2}^{2}^{2}^{", "x^{2}"),  # a cut-off last copy goes too
        ("x ) ) ) ) ) ) ) ) ) ) ) ) )", "x )"),
        # spaces as clean collapses them
        ("  a   +  b \n\n c ", "a + b\nc"),
    ],
)
def test_tidy_fixes_artefacts(raw: str, tidied: str) -> None:
    assert tidy(raw) == tidied


@pytest.mark.parametrize(
    "latex",
    [
        r"\operatorname{sgn}(x)",
        "a = 1000000000000000",  # a number is no loop
        "x + y + y",  # too short for a loop
        r"\frac{1}{2} 1 1 1 1 1 1 1 1 1 1 1 1 1",
        r"a \quad b",
        r"\sin x + \cos x",
        "\\begin{aligned}\na &= b \\\\\n&= c\n\\end{aligned}",
    ],
)
def test_tidy_leaves_meaningful_text_alone(latex: str) -> None:
    assert tidy(latex) == latex


@pytest.mark.parametrize(
    "latex",
    [r"\operatorname{s i n}x \, \, + y + y + y + y + y + y + y", r"\quad x \;", "a  b\n\n c"],
)
def test_tidy_is_idempotent(latex: str) -> None:
    assert tidy(tidy(latex)) == tidy(latex)


@pytest.mark.parametrize(
    ("latex", "problems"),
    [
        ("{x", [Problem("This { is never closed", 0, 1)]),
        ("x}", [Problem("This } has no opening {", 1, 2)]),
        (r"\{x\}", []),  # escaped braces are symbols
        (r"\left( x", [Problem(r"\left( has no \right after it", 0, 6)]),
        (r"x \right)", [Problem(r"\right) has no \left before it", 2, 9)]),
        (r"\left\{ x \right.", []),
        (
            r"{ \left( x } \right)",
            [
                Problem(r"\left( has no \right after it", 2, 8),
                Problem(r"\right) has no \left before it", 13, 20),
            ],
        ),
        (r"\begin{cases} x \end{matrix}", [Problem(r"\end{matrix} closes \begin{cases}", 16, 28)]),
        (r"\begin{cases} x", [Problem(r"\begin{cases} has no \end{cases}", 0, 13)]),
        (r"x \end{cases}", [Problem(r"\end{cases} has no \begin{cases}", 2, 13)]),
        (r"\left[ \begin{array}{cc} 1 & 2 \end{array} \right]", []),
    ],
)
def test_check_finds_what_would_not_compile(latex: str, problems: list[Problem]) -> None:
    assert check(latex) == problems


def test_problem_spans_point_at_the_source() -> None:
    latex = r"a + \left[ b"
    (problem,) = check(latex)
    assert latex[problem.start : problem.end] == r"\left["


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("as_is", r"\frac {1} {2}"),
        ("inline", r"$\frac {1} {2}$"),
        ("display_dollars", r"$$\frac {1} {2}$$"),
        ("display", r"\[\frac {1} {2}\]"),
        ("equation", "\\begin{equation}\n\\frac {1} {2}\n\\end{equation}"),
        ("aligned", "\\begin{aligned}\n&\\frac {1} {2}\n\\end{aligned}"),
    ],
)
def test_copy_formats(fmt: str, expected: str) -> None:
    assert for_copy(r"  \frac  {1} {2} ", fmt) == expected  # type: ignore[arg-type]


ALIGNED = "\\begin{aligned}\na &= 1 \\\\\nb &\\le 2\n\\end{aligned}"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("as_is", "a = 1\nb \\le 2"),
        ("inline", "$a = 1$\n$b \\le 2$"),  # one formula a line, never one run-on formula
        ("display_dollars", f"$$\n{ALIGNED}\n$$"),
        ("display", f"\\[\n{ALIGNED}\n\\]"),
        ("equation", f"\\begin{{equation}}\n{ALIGNED}\n\\end{{equation}}"),
        ("aligned", ALIGNED),
    ],
)
def test_several_lines_are_copied_as_separate_formulas(fmt: str, expected: str) -> None:
    assert for_copy("a = 1\n b \\le 2 ", fmt) == expected  # type: ignore[arg-type]


def test_an_environment_over_several_lines_is_one_formula() -> None:
    assert for_copy(ALIGNED, "display") == f"\\[\n{ALIGNED}\n\\]"


@pytest.mark.parametrize(
    ("line", "row"),
    [
        ("a = b", "a &= b"),
        (r"\sum_{i=1}^n x_i \le 1", r"\sum_{i=1}^n x_i &\le 1"),  # = inside braces is no relation
        ("x + 1", "&x + 1"),
        (r"a \Rightarrow b = c", r"a &\Rightarrow b = c"),
    ],
)
def test_aligned_aligns_each_row_at_its_first_relation(line: str, row: str) -> None:
    assert aligned([line]) == f"\\begin{{aligned}}\n{row}\n\\end{{aligned}}"


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="as_is, inline, display_dollars, display, equation"):
        for_copy("x", "markdown")  # type: ignore[arg-type]


def test_every_format_has_a_name_for_menus() -> None:
    assert set(COPY_FORMAT_NAMES) == set(COPY_FORMATS)
    assert COPY_FORMATS[0] == "as_is"
    assert all(name.strip() for name in COPY_FORMAT_NAMES.values())


def _math(mathml: str) -> ET.Element:
    root = ET.fromstring(mathml)
    assert root.tag == "{http://www.w3.org/1998/Math/MathML}math"
    return root


def test_mathml_is_a_math_element() -> None:
    root = _math(to_mathml(r"\frac{1}{2} \le x"))
    assert root.find(".//{*}mfrac") is not None
    assert for_copy(r"\frac{1}{2}", "mathml") == to_mathml(r"\frac{1}{2}")


def test_mathml_of_several_lines_is_one_table_of_rows() -> None:
    for text in ("a = 1\nb = 2", ALIGNED):
        rows = _math(to_mathml(text)).findall(".//{*}mtr")
        assert len(rows) == 2


@pytest.mark.parametrize(
    ("latex", "message"),
    [
        ("{x", "Cannot convert to MathML: This { is never closed."),
        ("x^", "Cannot convert to MathML: latex2mathml failed"),
        ("  ", "There is no LaTeX to convert to MathML."),
    ],
)
def test_mathml_failure_is_an_input_error(latex: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        to_mathml(latex)
    assert str(info.value).startswith(message)


def test_html_fragment_wraps_the_mathml() -> None:
    fragment = to_html("x < 1")
    assert fragment.startswith('<div class="math" title="x &lt; 1">')
    root = ET.fromstring(fragment)
    assert root[0].tag.endswith("math")
