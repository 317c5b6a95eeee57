"""The one progress display: a bar redrawn in place, or one line per step with the time left."""

from __future__ import annotations

import io

import numpy as np

from drywet.progress import Progress, duration, play_with_progress


def test_the_bar_is_redrawn_in_place_and_ends_with_a_newline() -> None:
    out = io.StringIO()
    bar = Progress(4, stream=out)
    for done in range(1, 5):
        bar.update(done)
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("] 100.0%\n")
    assert "\r[" + "#" * 15 + "." * 15 + "]  50.0%" in text


def test_nothing_is_shown_when_disabled() -> None:
    out = io.StringIO()
    Progress(3, enabled=False, stream=out).update(3)
    assert out.getvalue() == ""


def test_lines_carry_the_note_and_the_time_left_from_the_first_step() -> None:
    out = io.StringIO()
    lines = Progress(10, lines=True, stream=out)
    lines.update(6, "epoch 6/10")  # a resumed job: its pace counts from here
    lines.update(7, "epoch 7/10")
    rows = out.getvalue().splitlines()
    assert len(rows) == 2 and rows[0].startswith("epoch 6/10  ") and rows[1].endswith(" left")
    assert duration(42) == "42 s" and duration(180) == "3 min" and duration(3900) == "1 h 05 min"


def test_playing_in_blocks_gives_the_same_output() -> None:
    x = np.arange(10, dtype=np.float32)
    whole = play_with_progress(lambda b: 2 * b, x, False)
    assert np.array_equal(whole, play_with_progress(lambda b: 2 * b, x, True, 3))
