"""Progress reporting: plain lines at an interval when the stream is not a terminal (logs of long runs)."""

from __future__ import annotations

import io

from harness.progress import Progress, clock_text, progress_line
from harness.records import SampleRecord


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_progress_line_reports_counts_accuracy_and_a_linear_eta():
    line = progress_line("bfcl:multiple", 50, 200, 10, 125.0)
    assert line == "[rest eval] 50/200 (25.0%) task bfcl:multiple acc 20.0% elapsed 0:02:05 eta 0:06:15"
    assert progress_line("x", 0, 10, 0, 3.0).endswith("acc - elapsed 0:00:03 eta ?")
    assert clock_text(3 * 3600 + 61.4) == "3:01:01"


def test_non_terminal_stream_gets_one_line_per_interval_per_task_and_at_the_end():
    out, clock = io.StringIO(), Clock()
    with Progress(10, stream=out, interval=30.0, clock=clock) as bar:
        bar.start_task("a")  # a task start is always logged
        for _ in range(4):
            clock.t += 10.0
            bar.advance([SampleRecord("a", valid=True), SampleRecord("b")])  # 40 s of work: one interval passes once
        bar.start_task("b")
        clock.t += 5.0
        bar.advance([SampleRecord("c", valid=True), SampleRecord("d", valid=True)])  # the last items: logged at once
    lines = out.getvalue().splitlines()
    assert [ln.split(" task ")[0] for ln in lines] == ["[rest eval] 0/10 (0.0%)", "[rest eval] 6/10 (60.0%)",
                                                       "[rest eval] 8/10 (80.0%)", "[rest eval] 10/10 (100.0%)"]
    assert "acc 60.0%" in lines[-1] and "task b" in lines[-1] and "eta 0:00:00" in lines[-1]


def test_disabled_or_empty_progress_writes_nothing():
    for kwargs in ({"total": 5, "enabled": False}, {"total": 0}):
        out = io.StringIO()
        with Progress(stream=out, clock=Clock(), **kwargs) as bar:
            bar.start_task("a")
            bar.advance([SampleRecord("a", valid=True)])
        assert out.getvalue() == ""


def test_notes_report_within_a_long_batch_at_most_once_per_interval():
    out, clock = io.StringIO(), Clock()
    with Progress(10, stream=out, interval=30.0, clock=clock) as bar:
        bar.start_task("bfcl:multi_turn_base")
        for rounds in range(1, 7):  # a batch of episodes: one note per query round, 20 s apart
            clock.t += 20.0
            bar.note(f"5 episodes, {rounds} query rounds, 5 still running")
    lines = out.getvalue().splitlines()[1:]
    assert lines == ["[rest eval] 0/10 task bfcl:multi_turn_base: 5 episodes, 2 query rounds, 5 still running "
                     "elapsed 0:00:40",
                     "[rest eval] 0/10 task bfcl:multi_turn_base: 5 episodes, 4 query rounds, 5 still running "
                     "elapsed 0:01:20",
                     "[rest eval] 0/10 task bfcl:multi_turn_base: 5 episodes, 6 query rounds, 5 still running "
                     "elapsed 0:02:00"]
    quiet = io.StringIO()
    with Progress(10, enabled=False, stream=quiet, clock=Clock()) as bar:
        bar.note("x")
    assert quiet.getvalue() == ""
