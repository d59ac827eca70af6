"""The preview's normalizer: everyday LaTeX rewritten into what mathtext draws.

Each rule is checked twice: the mathtext it writes, and that mathtext draws it with no
notice (no error, no glyph missing from the font).
"""

import logging

import pytest

from mathpad.latex.normalize import Env, Fenced, Math, mathtext_of, normalize
from mathpad.render import render_png

RULES = [
    # aliases
    (r"a \le b", r"a \leq b"),
    (r"a \ge b", r"a \geq b"),
    (r"a \lt b \gt c", "a < b > c"),
    (r"a \ne b", r"a \neq b"),
    (r"p \iff q", r"p \Leftrightarrow q"),
    (r"p \implies q", r"p \Rightarrow q"),
    (r"p \land q \lor r", r"p \wedge q \vee r"),
    (r"\lnot p", r"\neg p"),
    (r"\lvert x \rvert", "| x |"),
    (r"\lVert x \rVert", r"\Vert x \Vert"),
    (r"\lbrace x \rbrace", r"\{ x \}"),
    (r"f \colon A", "f : A"),
    (r"a_1, \dotsc, a_n", r"a_{1}, \ldots, a_{n}"),
    (r"\Alpha \Beta", "A B"),
    (r"a \& b", "a & b"),
    (r"x \not= y", r"x \neq y"),
    (r"x \not\in A", r"x \notin A"),
    (r"a \bmod b", r"a \ \mathrm{mod}\  b"),
    (r"a \pmod{n}", r"a \ (\mathrm{mod}\ {n})"),
    # fonts and text
    (r"\mathrm d x", r"\mathrm{d} x"),
    (r"\mathrm{d}x", r"\mathrm{d}x"),
    (r"\operatorname{s i n} x", r"\operatorname{sin} x"),
    (r"\operatorname*{argmax}_x", r"\operatorname{argmax}_{x}"),
    (r"\text{if } x", r"\text{if } x"),
    (r"\mbox{for all} x", r"\text{for all} x"),
    (r"\textbf{v}", r"\mathbf{v}"),
    (r"\bm{x}", r"\boldsymbol{x}"),
    # sizes and styles
    (r"\sum\limits_{i} x", r"\sum_{i} x"),
    (r"\int\nolimits_0 f", r"\int_{0} f"),
    (r"\displaystyle \sum x", r"\sum x"),
    (r"\textstyle x", "x"),
    (r"\big( x \big)", "( x )"),
    (r"\Bigl[ x \Bigr]", "[ x ]"),
    (r"\bigg\lvert x \bigg\rvert", "| x |"),
    (r"\left\lvert x \right\rvert", r"\left| x \right|"),
    (r"\left\langle x \right\rangle", r"\left\langle x \right\rangle"),
    (r"\left< x \right>", r"\left\langle x \right\rangle"),
    (r"\left\lbrace x \right.", r"\left\{ x \right."),
    # fractions and unbraced arguments
    (r"\tfrac{1}{2}", r"\frac{1}{2}"),
    (r"\dfrac{1}{2}", r"\dfrac{1}{2}"),
    (r"\cfrac{1}{2}", r"\dfrac{1}{2}"),
    (r"\frac {2H} g", r"\dfrac{2H}{g}"),  # a fraction of the line itself in display size
    (r"\frac12", r"\dfrac{1}{2}"),
    (r"\frac\alpha\beta", r"\dfrac{\alpha}{\beta}"),
    (r"e^{\frac{x}{2}} + \frac{\frac{a}{b}}{c}", r"e^{\frac{x}{2}} + \dfrac{\frac{a}{b}}{c}"),
    (r"\sqrt 5", r"\sqrt{5}"),
    (r"\sqrt[3] x", r"\sqrt[3]{x}"),
    (r"x^2", "x^{2}"),
    (r"x^23", "x^{2}3"),
    (r"x_\infty", r"x_{\infty}"),
    (r"\binom nk", r"\binom{n}{k}"),
    (r"\tbinom{n}{k}", r"\binom{n}{k}"),
    (r"\stackrel{\text{def}}{=}", r"\overset{\text{def}}{=}"),
    (r"A \xrightarrow{f} B", r"A \overset{f}{\longrightarrow} B"),
    (r"\sum_{\substack{i=1 \\ i \neq j}}", r"\sum_{\substack{i=1 \\ i \neq j}}"),
    # what mathtext has no use for
    (r"\boxed{x = 2}", "{x = 2}"),
    (r"\underbrace{a+b}_{n}", "{a+b}_{n}"),
    (r"\label{eq} x \tag{1}", "x"),
    # CROHME's delimiters and spacing
    ("$2 l o g ( x - 3 )$", "2 l o g ( x - 3 )"),
    (r"\[ x^2 \]", "x^{2}"),
    ("$$ a $$", "a"),
    ("a~b", r"a\ b"),
    ("100 %", r"100 \%"),
]


@pytest.mark.parametrize(("latex", "mathtext"), RULES)
def test_rule_writes_mathtext(latex: str, mathtext: str) -> None:
    assert mathtext_of(latex) == mathtext


@pytest.fixture
def notices(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """mathtext's warnings about glyphs missing from the font (each is a box in the picture)."""
    logger = logging.getLogger("matplotlib.mathtext")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield caplog
    logger.setLevel(level)


@pytest.mark.parametrize(("latex", "mathtext"), RULES)
def test_rule_is_drawn_without_a_notice(
    latex: str, mathtext: str, notices: pytest.LogCaptureFixture
) -> None:
    del mathtext
    render_png(latex)
    assert not [r for r in notices.records if r.name.startswith("matplotlib")]


def test_lines_split_at_newlines_and_top_level_row_breaks() -> None:
    assert len(normalize("a = 1\nb = 2")) == 2
    assert len(normalize(r"x = 1 \\ y = 2")) == 2
    assert len(normalize("\n\n x \n\n")) == 1


def test_an_environment_keeps_its_rows_and_cells() -> None:
    ((env,),) = normalize(r"\begin{pmatrix} a & b \\ c & d \\ \end{pmatrix}")
    assert isinstance(env, Env) and env.name == "pmatrix"
    cells = [[piece.text for cell in row for piece in cell] for row in env.rows]
    assert cells == [["a", "b"], ["c", "d"]]  # a trailing \\ adds no row


def test_environments_nest_and_sit_between_runs() -> None:
    (line,) = normalize(r"x = \begin{cases} \begin{matrix} 1 & 2 \end{matrix} & y \end{cases} + 1")
    assert [type(p) for p in line] == [Math, Env, Math]
    inner = [p for p in line[1].rows[0][0] if not (isinstance(p, Math) and p.blank)]
    assert len(inner) == 1 and isinstance(inner[0], Env) and inner[0].name == "matrix"


def test_cells_of_matrices_are_text_style_and_of_aligned_display_style() -> None:
    ((matrix,),) = normalize(r"\begin{pmatrix} \frac{1}{2} \end{pmatrix}")
    ((block,),) = normalize(r"\begin{aligned} x &= \frac{1}{2} \end{aligned}")
    assert matrix.rows[0][0][0].text == r"\frac{1}{2}"
    assert block.rows[0][1][0].text == r"= \dfrac{1}{2}"


def test_array_keeps_its_column_alignment() -> None:
    ((env,),) = normalize(r"\begin{array}{l|cr} a & b & c \end{array}")
    assert env.columns == "lcr"


def test_left_and_right_around_an_environment_become_a_fence() -> None:
    (line,) = normalize(r"A = \left[ \begin{array}{cc} 1 & 2 \end{array} \right]^{T}")
    fenced = next(p for p in line if isinstance(p, Fenced))
    assert (fenced.left, fenced.right) == ("[", "]")
    assert any(isinstance(p, Env) for p in fenced.body)
    assert line[-1].text.strip() == "^{T}"


def test_parts_remember_their_source_characters() -> None:
    latex = r"\frac {2H} g"
    ((run,),) = normalize(latex)
    symbols = {latex[p.start : p.end] for p in run.parts if p.symbol}
    assert symbols == {"2", "H", "g"}


def test_unknown_environment_is_left_for_mathtext_to_refuse() -> None:
    assert mathtext_of(r"\begin{foo} x \end{foo}").startswith(r"\begin{foo}")
