"""The progress display: a bar on a terminal, plain throttled lines elsewhere."""

from __future__ import annotations

import io

from gp_spec._progress import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_stream_gets_throttled_lines_and_a_final_one() -> None:
    out = io.StringIO()
    with Progress(100, "train", stream=out, every=3600.0) as bar:
        for k in range(100):
            bar.update(1, f"step {k}")
    lines = out.getvalue().splitlines()
    # first update prints (nothing printed before), the rest are throttled, close prints once
    assert len(lines) == 2, lines
    assert lines[0].startswith("train 1/100") and lines[-1].startswith("train 100/100")
    assert "step 99" in lines[-1] and "\r" not in out.getvalue()


def test_terminal_gets_a_bar_redrawn_in_place() -> None:
    out = _Tty()
    bar = Progress(4, "bench", stream=out)
    bar.update(4)
    bar.close()
    text = out.getvalue()
    assert "\r" in text and "[" + "#" * 24 + "]" in text and text.endswith("\n")


def test_disabled_and_closed_streams_are_silent() -> None:
    out = io.StringIO()
    with Progress(3, "x", stream=out, enabled=False) as bar:
        bar.update(3)
    assert out.getvalue() == ""
    closed = io.StringIO()
    closed.close()
    bar = Progress(None, "y", stream=closed)
    bar.update(1)
    bar.close()  # no exception although the stream is closed
