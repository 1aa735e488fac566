"""The progress bar of the long commands (generate_scale_data, compute_metrics)."""

import io

from ipm.progress import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_in_a_log_it_writes_plain_lines_and_the_last_one_once():
    out, clock = io.StringIO(), Clock()
    bar = Progress("metrics", 100, out, clock=clock)
    bar.update(10)                 # quiet: nothing to say yet
    clock.now += 6
    bar.update(50)                 # a line every few seconds
    bar.update(60)
    clock.now += 1
    bar.update(100)
    bar.close()
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 2 and "50/100" in lines[0] and "100/100" in lines[1]
    assert lines[0].endswith("6.0s") and lines[1].endswith("7.0s")


def test_it_shows_no_time_before_there_is_any():
    out, clock = Tty(), Clock()
    bar = Progress("patients", 10, out, clock=clock)
    bar.update(1)
    assert out.getvalue().startswith("\rpatients") and "0.0s" not in out.getvalue()
    clock.now += 2.5
    bar.update(10)
    bar.close()
    assert out.getvalue().endswith("10/10 100% 2.5s\n")
    assert out.getvalue().count("10/10") == 1  # the last line is not repeated
