"""The progress bar while sending, and the messages printed above it.

Drawn with ``rich.live`` on a terminal: a refresh thread redraws the line four times a second
(so elapsed time and the estimate move while a slow batch is out), clears it before each
redraw (no stale digits), and prints messages above it, wrapped at word boundaries to the
window, never through it. What the line says is chosen by :func:`figures`, a pure function, to
fit the window's width: the least useful parts are left out first. On a pipe, a file or a dumb
terminal there is no bar; messages are printed as plain lines (the summary follows anyway).

rich is imported only when a bar is shown, so ``csvscore --version`` and piped runs never load it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from csvscore.cli.wrap import cell_len, say
from csvscore.scoring.submit import Progress

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

MIN_BAR = 10  # narrower than this, a bar says nothing: the figures get the whole line
MAX_BAR = 40


@dataclass
class Tally:
    """What the bar shows: the run's figures so far and when sending started."""

    rows_done: int = 0
    rows_total: int = 0
    batches_done: int = 0
    batches_total: int = 0
    credits: Decimal = Decimal(0)
    started: float = 0.0
    stopping: bool = False


def duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``: as a clock, to the second."""
    s = max(0, int(seconds + 0.5))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _credits(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _variants(t: Tally, now: float) -> Iterator[list[str]]:
    """What the line could say, from the fullest to the shortest."""
    share = t.rows_done / t.rows_total if t.rows_total else 0.0
    pct = f"{int(share * 100):3d}%"
    rows = f"{t.rows_done}/{t.rows_total} rows"
    batches = f"batch {t.batches_done}/{t.batches_total}"
    credits = f"{_credits(t.credits)} credits"
    elapsed = duration(now - t.started)
    if t.stopping:
        # No estimate: what is left will not be sent now. Say what is being waited for.
        pct = pct.strip()
        yield ["Stopping:", pct, rows, batches, credits, f"{elapsed} elapsed"]
        yield ["Stopping:", pct, rows, credits]
        yield ["Stopping:", pct]
        return
    if t.rows_done and t.rows_done < t.rows_total:
        left = duration((now - t.started) * (t.rows_total - t.rows_done) / t.rows_done)
        eta_long, eta_short = f", about {left} left", f"~{left} left"
    elif t.rows_done and t.rows_done >= t.rows_total:
        eta_long = eta_short = ""  # all answered: the summary follows
    else:  # nothing answered yet: no rate to go by
        eta_long, eta_short = ", estimating time left", ""
    yield [pct, rows, batches, credits, f"{elapsed} elapsed{eta_long}"]
    yield [pct, rows, batches, credits, elapsed, eta_short]
    yield [pct, rows, credits, elapsed, eta_short]
    yield [pct, rows, credits, eta_short]
    yield [pct, credits, eta_short]
    yield [pct]


def figures(t: Tally, now: float, width: int) -> tuple[str, int]:
    """The text beside the bar and the bar's width (0: no bar), to fit ``width - 1`` cells.

    The fullest text that leaves room for a bar of :data:`MIN_BAR` cells wins; in a window too
    narrow for any of them, the fullest text that fits alone.
    """
    room = width - 1
    texts = ["  ".join(p for p in parts if p) for parts in _variants(t, now)]
    for text in texts:
        bar = room - cell_len(text) - 1  # one space between the bar and the text
        if bar >= MIN_BAR:
            return text, min(bar, MAX_BAR)
    for text in texts:
        if cell_len(text) <= room:
            return text, 0
    return texts[-1], 0


class _Line:
    """The rich renderable of the bar: measured at each redraw, so a resized window fits."""

    def __init__(self, owner: ProgressLine) -> None:
        self.owner = owner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        t = self.owner.snapshot()
        text, bar = figures(t, self.owner.clock(), options.max_width)
        grid = Table.grid(padding=(0, 1))
        if bar:
            total = t.rows_total or 1
            grid.add_row(ProgressBar(total=total, completed=t.rows_done, width=bar), text)
        else:
            grid.add_row(text)
        yield grid


class ProgressLine:
    """The progress callback (:class:`csvscore.scoring.submit.Progress`) and the message printer.

    Safe to call from the sending threads. ``enabled`` False (a pipe, ``--json``): no bar, and
    :meth:`say` prints plain lines. ``width`` fixes the width (tests); ``clock`` is injectable.
    """

    def __init__(
        self,
        stream: TextIO,
        enabled: bool,
        *,
        colour: bool = False,
        environ: Mapping[str, str] | None = None,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.colour = colour
        self.environ = environ
        self.width = width
        self.clock = clock
        self._tally = Tally()
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._echo: Callable[[], None] | None = None

    def snapshot(self) -> Tally:
        with self._lock:
            return Tally(**vars(self._tally))

    def start(self, rows_total: int, batches_total: int) -> None:
        """Show the bar at 0% (before the first answer, which may take a while)."""
        with self._lock:
            self._tally = Tally(0, rows_total, 0, batches_total, Decimal(0), self.clock())
        if not self.enabled or self._live is not None:
            return
        from rich.console import Console
        from rich.live import Live

        extra: dict[str, Any] = {} if self.environ is None else {"_environ": dict(self.environ)}
        console = Console(
            file=self.stream,
            force_terminal=True,
            no_color=not self.colour,
            color_system="auto" if self.colour else None,
            highlight=False,
            markup=False,
            emoji=False,
            width=self.width,
            **extra,
        )
        # No redirection of sys.stdout/stderr: everything csvscore prints goes through say().
        self._live = Live(
            _Line(self),
            console=console,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._echo = _quiet_control_echo(self.stream)
        self._live.start()

    def __call__(self, p: Progress) -> None:
        with self._lock:
            t = self._tally
            if not t.started:
                t.started = self.clock()
            t.rows_done, t.rows_total = p.rows_done, p.rows_total
            t.batches_done, t.batches_total = p.batches_done, p.batches_total
            t.credits = p.credits_charged

    def say(self, message: str, style: str | None = None) -> None:
        """Print ``message`` above the bar (wrapped to the window), or as a plain line."""
        live = self._live
        if live is None:
            say(self.stream, message)
            return
        from rich.text import Text

        live.console.print(Text(message, style=style or ""), soft_wrap=False)

    def stopping(self, message: str) -> None:
        """Ctrl-C: say so at once, and let the bar say what it is waiting for."""
        with self._lock:
            self._tally.stopping = True
        self.say(message, "bold" if self.colour else None)
        if self._live is not None:
            self._live.refresh()

    def close(self) -> None:
        """Draw the last state and leave it on screen (the summary follows below it), or
        clear the bar when nothing was answered."""
        live, self._live = self._live, None
        if live is not None:
            t = self.snapshot()
            # A run that stopped before anything was answered (another window has the file, the
            # result folder cannot be written): the error that follows is the story, not a
            # bar at 0%.
            live.transient = not (t.rows_done or t.stopping)
            live.stop()
        restore, self._echo = self._echo, None
        if restore is not None:
            restore()


def _quiet_control_echo(stream: TextIO) -> Callable[[], None] | None:
    """Stop the terminal from echoing "^C" into the bar; return how to undo it (POSIX only).

    The echo lands where the cursor is, at the end of the bar, and pushes the bar down a line,
    so the next redraw would leave the old bar standing above the "Stopping..." message.
    """
    try:
        import termios

        fd = stream.fileno()
        before = termios.tcgetattr(fd)
    except (ImportError, AttributeError, OSError, ValueError):  # Windows, not a terminal
        return None
    quiet = list(before)
    quiet[3] &= ~termios.ECHOCTL
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (OSError, termios.error):
        return None

    def restore() -> None:
        # The terminal may be gone (the window was closed): nothing to restore then.
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, before)

    return restore
