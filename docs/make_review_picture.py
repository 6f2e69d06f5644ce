"""Make docs/review.svg: the real review screen of `csvscore score`, as a terminal picture.

Runs ``csvscore score fixtures/exports/hubspot.csv --sandbox`` in a pseudo-terminal with colours
on, captures everything it shows up to its first question, answers ``q`` (so nothing is sent),
and turns the captured text and its ANSI colours into a self-contained SVG. Nothing in the
picture is typed by hand: rerun this after changing what the review shows::

    .venv/bin/python docs/make_review_picture.py            # writes docs/review.svg
    .venv/bin/python docs/make_review_picture.py -o x.svg --columns 100

Needs pexpect (in the ``test`` extra). csvscore runs with its own empty config and state folders,
so a mapping remembered on this machine does not change the picture.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pexpect

ROOT = Path(__file__).resolve().parent.parent
EXPORT = Path("fixtures/exports/hubspot.csv")  # relative: the picture shows only its name
PROMPT = "Enter = accept, or a change: "

# A dark theme (VS Code's terminal colours); index = SGR colour 30..37 / 90..97 minus base.
PALETTE = ["#000000", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#e5e5e5"]
FOREGROUND = "#cccccc"
BACKGROUND = "#1e1e1e"
FONT_SIZE = 14
CHAR_WIDTH = FONT_SIZE * 0.6  # the advance of DejaVu Sans Mono, Menlo and Consolas
LINE_HEIGHT = round(FONT_SIZE * 1.3)
PAD = 16
TITLE_BAR = 30

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b[=>]")


@dataclass(frozen=True)
class Look:
    """How one character is drawn."""

    fg: str | None = None  # None: the default foreground
    bold: bool = False
    dim: bool = False


def capture(columns: int, rows: int) -> tuple[str, int]:
    """Run the review in a pty; return what it showed before its first question, and the
    exit status after answering ``q``."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "COLUMNS")}
        env.update(
            TERM="xterm-256color",
            CSVSCORE_CONFIG_DIR=str(Path(home) / "config"),
            CSVSCORE_STATE_DIR=str(Path(home) / "state"),
            CSVSCORE_KEYRING="0",
        )
        child = pexpect.spawn(
            sys.executable,
            ["-m", "csvscore", "score", str(EXPORT), "--sandbox"],
            cwd=str(ROOT),
            env=env,
            encoding="utf-8",
            timeout=30,
            dimensions=(rows, columns),
        )
        child.expect_exact(PROMPT)
        screen = child.before + child.after
        child.sendline("q")
        child.expect(pexpect.EOF)
        child.close()
        return screen, child.exitstatus


def _apply_sgr(params: str, look: Look) -> Look:
    codes = [int(p) for p in params.split(";") if p.isdigit()] or [0]
    fg, bold, dim = look.fg, look.bold, look.dim
    for code in codes:
        if code == 0:
            fg, bold, dim = None, False, False
        elif code == 1:
            bold = True
        elif code == 2:
            dim = True
        elif code == 22:
            bold = dim = False
        elif 30 <= code <= 37:
            fg = PALETTE[code - 30]
        elif 90 <= code <= 97:
            fg = PALETTE[code - 90]
        elif code == 39:
            fg = None
    return Look(fg, bold, dim)


def render_cells(text: str, columns: int) -> list[list[tuple[str, Look]]]:
    """Lay ``text`` out on a terminal ``columns`` wide: newlines, carriage returns, tabs,
    auto-wrap at the right edge, and SGR colours (other escape sequences are dropped)."""
    lines: list[list[tuple[str, Look]]] = [[]]
    col = 0
    look = Look()
    pos = 0

    def put(ch: str) -> None:
        nonlocal col
        if col >= columns:  # the terminal wraps onto a new line
            lines.append([])
            col = 0
        line = lines[-1]
        line.extend([(" ", Look())] * (col - len(line)))
        if col < len(line):
            line[col] = (ch, look)
        else:
            line.append((ch, look))
        col += 1

    while pos < len(text):
        m = _CSI.match(text, pos)
        if m:
            if m.group(2) == "m":
                look = _apply_sgr(m.group(1), look)
            pos = m.end()
            continue
        ch = text[pos]
        pos += 1
        if ch == "\n":
            lines.append([])
            col = 0
        elif ch == "\r":
            col = 0
        elif ch == "\t":
            for _ in range(8 - col % 8):
                put(" ")
        elif ch.isprintable():
            put(ch)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def to_svg(lines: list[list[tuple[str, Look]]], columns: int, title: str) -> str:
    """A self-contained SVG of a dark terminal window showing ``lines``."""
    width = round(2 * PAD + columns * CHAR_WIDTH)
    height = TITLE_BAR + 2 * PAD + len(lines) * LINE_HEIGHT
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        "<style>text{font-family:'DejaVu Sans Mono',Menlo,Consolas,'Liberation Mono',"
        f"monospace;font-size:{FONT_SIZE}px;white-space:pre;fill:{FOREGROUND}}}"
        ".b{font-weight:bold}.d{fill-opacity:.5}</style>",
        f'<rect width="{width}" height="{height}" rx="8" fill="{BACKGROUND}"/>',
        f'<rect width="{width}" height="{TITLE_BAR}" rx="8" fill="#323233"/>',
        f'<rect y="{TITLE_BAR - 8}" width="{width}" height="8" fill="#323233"/>',
    ]
    for i, colour in enumerate(("#ff5f57", "#febc2e", "#28c840")):
        out.append(f'<circle cx="{PAD + 6 + i * 20}" cy="{TITLE_BAR / 2}" r="6" fill="{colour}"/>')
    out.append(
        f'<text x="{width / 2}" y="{TITLE_BAR / 2 + 5}" text-anchor="middle" '
        f'style="fill:#9d9d9d;font-size:13px">{escape(title)}</text>'
    )
    # The terminal's cursor, waiting after the question.
    cursor_x = round(PAD + len(lines[-1]) * CHAR_WIDTH, 1) if lines else PAD
    cursor_y = TITLE_BAR + PAD + (len(lines) - 1) * LINE_HEIGHT + 2
    out.append(
        f'<rect x="{cursor_x}" y="{cursor_y}" width="{round(CHAR_WIDTH, 1)}" '
        f'height="{LINE_HEIGHT - 2}" fill="{FOREGROUND}" fill-opacity=".8"/>'
    )
    for row, line in enumerate(lines):
        y = TITLE_BAR + PAD + (row + 1) * LINE_HEIGHT - 5
        spans = []
        col = 0
        while col < len(line):
            look = line[col][1]
            end = col
            while end < len(line) and line[end][1] == look:
                end += 1
            chunk = "".join(ch for ch, _ in line[col:end])
            if chunk.strip():
                classes = " ".join(c for c, on in (("b", look.bold), ("d", look.dim)) if on)
                attrs = f' class="{classes}"' if classes else ""
                if look.fg:
                    attrs += f' style="fill:{look.fg}"'
                x = round(PAD + col * CHAR_WIDTH, 1)
                spans.append(f'<tspan x="{x}"{attrs}>{escape(chunk)}</tspan>')
            col = end
        if spans:
            out.append(f'<text y="{y}" xml:space="preserve">{"".join(spans)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Capture the review and write the SVG; exit 1 if csvscore did not stop as asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "review.svg")
    parser.add_argument("--columns", type=int, default=110, help="terminal width")
    args = parser.parse_args(argv)
    screen, status = capture(args.columns, rows=60)
    if status != 8:  # q at the review: "you declined; nothing was sent"
        print(f"csvscore exited {status}, expected 8; output:\n{screen}", file=sys.stderr)
        return 1
    lines = render_cells(screen, args.columns)
    title = f"csvscore score {EXPORT.name}"
    args.output.write_text(to_svg(lines, args.columns, title), encoding="utf-8")
    print(f"Wrote {args.output} ({len(lines)} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
