"""A small progress bar for management commands (no dependency): `generate_scale_data`,
`compute_metrics`.

On a terminal it redraws one line in place. Anywhere else (a log file, CI, a pipe) it writes
plain lines, no carriage returns, at most one every `every_seconds` and one at the end. The
elapsed time is shown once there is any to show, and the last line is never printed twice.
"""

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, out=None, *, every_seconds: float | None = None,
                 clock=time.monotonic):
        self.label, self.total = label, max(int(total), 1)
        self.out = out if out is not None else sys.stdout
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.every = every_seconds if every_seconds is not None else (0.3 if self.tty else 5.0)
        self.clock = clock
        self.done, self.started = 0, clock()
        # A terminal shows the bar at once; a log gets its first line after `every` seconds.
        self.last_drawn_at = None if self.tty else self.started
        self.last_line, self.closed = "", False

    def add(self, n: int) -> None:
        self.update(self.done + n)

    def update(self, done: int) -> None:
        self.done = min(max(int(done), 0), self.total)
        now = self.clock()
        if self.last_drawn_at is None or now - self.last_drawn_at >= self.every:
            self._draw(now)

    def close(self) -> None:
        """The final line (with the time taken), unless it is exactly what is shown."""
        if self.closed:
            return
        self.closed = True
        line = self._line(self.clock())
        if line != self.last_line:
            self._write(line)
        if self.tty:
            self.out.write("\n")
        self.out.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- drawing ------------------------------------------------------------------------

    def _line(self, now: float) -> str:
        frac = self.done / self.total
        bar = "#" * int(frac * 30)
        elapsed = now - self.started
        took = f" {elapsed:.1f}s" if elapsed >= 0.05 else ""
        return (f"{self.label:<14} [{bar:<30}] {self.done:>9,}/{self.total:,} "
                f"{frac:>4.0%}{took}")

    def _draw(self, now: float) -> None:
        line = self._line(now)
        self.last_drawn_at = now
        if line == self.last_line:
            return
        self._write(line)

    def _write(self, line: str) -> None:
        if self.tty:
            self.out.write("\r" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()
        self.last_line = line
