"""Issue 22 items 4, 5 and 11: one writer per run directory, `--resume` only with the stored settings, no silent loss.

A fake task and backend stand in for a model (tests/test_runner.py's), so every case runs in
milliseconds; the lock's release on kill -9 and the CLI's order of checks use a child process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from harness import runner
from harness import tasks as registry
from harness.backends.base import GenParams
from harness.rundir import lock as runlock
from harness.rundir.store import RunStore
from harness.runner import RunConfig
from harness.runner import run as run_typed
from harness.types import UserError
from tests.test_runner import EchoTask, OkBackend


def run(*args, **kwargs) -> dict:
    """The run's summary as written to summary.json (the on-disk contract these tests check)."""
    return run_typed(*args, **kwargs).to_json()

SAMPLES = "samples/test__echo.jsonl"


class TwoFormatEcho(EchoTask):
    name = "test:echo2"
    formats = ("prompting", "fc")


class OtherEcho(EchoTask):
    name = "test:other"


class DtypeBackend(OkBackend):
    """OkBackend reporting a resolved dtype, as the hf backend does."""

    def __init__(self, dtype: str = "float32", **kw) -> None:
        super().__init__(**kw)
        self.dtype = dtype

    def info(self):
        return {"backend": self.name, "dtype": self.dtype}


class GatedBackend(OkBackend):
    """Blocks in its first generate call until `gate` is set: a run caught in the middle of generating."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.gate = threading.Event(), threading.Event()

    def generate(self, prompts, params):
        self.started.set()
        assert self.gate.wait(30)
        return super().generate(prompts, params)


@pytest.fixture(autouse=True)
def fake_tasks():
    for cls in (EchoTask, TwoFormatEcho, OtherEcho):
        registry.register(cls.name, cls)
    yield
    for cls in (EchoTask, TwoFormatEcho, OtherEcho):
        registry.TASKS.unregister(cls.name)


def cfg(tmp_path, tasks=("test:echo",), **kw) -> RunConfig:
    gen = kw.pop("gen", GenParams(max_new_tokens=4))
    return RunConfig(tasks=list(tasks), out_dir=tmp_path / "run", batch_size=3, progress=False, gen=gen,
                     model_label=kw.pop("model_label", "fake"), **kw)


def ids_in(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- item 4: one writer per run directory


def test_a_second_run_while_the_first_generates_is_refused_and_every_id_is_stored_once(tmp_path):
    first = GatedBackend()
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: run(first, cfg(tmp_path, limit=8)))
    worker.start()
    try:
        assert first.started.wait(30)
        with pytest.raises(UserError, match=rf"is in use by pid {os.getpid()} on host .*wait for that run"):
            run(OkBackend(), cfg(tmp_path, limit=8, resume=True))
    except BaseException as exc:  # pragma: no cover - keep the worker from hanging the suite
        errors.append(exc)
    finally:
        first.gate.set()
        worker.join(30)
    assert not errors
    ids = ids_in(tmp_path / "run" / SAMPLES)
    assert sorted(ids) == sorted(f"echo_{i}" for i in range(8))  # before: 16 lines, every id twice


def test_summarize_only_of_a_held_directory_is_refused_too(tmp_path):
    run(OkBackend(), cfg(tmp_path))
    with runlock.RunLock(tmp_path / "run"):
        with pytest.raises(UserError, match="in use by"):
            run(None, cfg(tmp_path))


def test_the_lock_goes_with_its_holder_even_after_kill_9(tmp_path):
    code = ("import sys, time; from harness.rundir.lock import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"in use by pid {child.pid} "):
            run(OkBackend(), cfg(tmp_path))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert run(OkBackend(), cfg(tmp_path))["tasks"]["test:echo"]["total"] == 10  # the OS dropped the lock


def test_the_lock_is_released_after_a_run_and_after_a_failed_one(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=2))
    with pytest.raises(KeyboardInterrupt):
        run(OkBackend(crash_after=0), cfg(tmp_path, resume=True))
    assert run(OkBackend(), cfg(tmp_path, resume=True))["tasks"]["test:echo"]["total"] == 10
    with runlock.RunLock(tmp_path / "run"):  # nothing still holds it
        pass


def test_rest_eval_checks_the_run_directory_before_loading_the_model(tmp_path):
    """Held or already holding samples: refused in one line before the (here missing) model is even looked at."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "harness.cli", "eval", "--model", str(tmp_path / "no-such-model"), "--limit", "1",
            "--output-dir", str(tmp_path), "--run-name", "r", "--no-progress", "--no-fetch"]
    with runlock.RunLock(tmp_path / "r"):
        held = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert held.returncode == 2 and held.stderr.count("\n") == 1, held.stderr
    assert f"run directory {tmp_path / 'r'} is in use by pid {os.getpid()}" in held.stderr
    (tmp_path / "r" / "samples").mkdir(parents=True)
    (tmp_path / "r" / "samples" / "x.jsonl").write_text('{"id": "x"}\n')
    busy = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert busy.returncode == 2 and busy.stderr.count("\n") == 1, busy.stderr
    assert "already has samples" in busy.stderr  # before: "model path ... does not exist", after a torch import


# ---------------------------------------------------------------- item 5: --resume keeps the stored settings


def test_resume_with_other_generation_settings_is_refused_listing_them(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=4))
    changed = GenParams(max_new_tokens=8, temperature=0.7, top_p=0.9, seed=3)
    backend = OkBackend()
    with pytest.raises(UserError) as exc:
        run(backend, cfg(tmp_path, resume=True, gen=changed))
    text = str(exc.value)
    for diff in ("max_new_tokens 4 -> 8", "temperature 0.0 -> 0.7", "top_p 1.0 -> 0.9", "seed 0 -> 3", "--force"):
        assert diff in text
    assert "\n" not in text and backend.calls == []
    assert len(ids_in(tmp_path / "run" / SAMPLES)) == 4


def test_resume_with_another_model_or_format_is_refused(tmp_path):
    run(OkBackend(), cfg(tmp_path, tasks=["test:echo2"], limit=4))
    with pytest.raises(UserError, match="model 'fake' -> 'other'"):
        run(OkBackend(), cfg(tmp_path, tasks=["test:echo2"], resume=True, model_label="other"))
    with pytest.raises(UserError, match="format of test:echo2 'prompting' -> 'fc'"):
        run(OkBackend(), cfg(tmp_path, tasks=["test:echo2"], resume=True, fmt="fc"))
    explicit = run(OkBackend(), cfg(tmp_path, tasks=["test:echo2"], resume=True, fmt="prompting"))  # = auto here
    assert explicit["tasks"]["test:echo2"]["total"] == 10


def test_resume_with_another_resolved_dtype_is_refused_after_the_load(tmp_path):
    run(DtypeBackend("float32"), cfg(tmp_path, limit=4))
    backend = DtypeBackend("bfloat16")
    with pytest.raises(UserError, match="dtype 'float32' -> 'bfloat16'"):
        run(backend, cfg(tmp_path, resume=True))
    assert backend.calls == []


def test_resume_of_a_run_from_before_run_json_compares_its_summary(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=4))
    (tmp_path / "run" / "run.json").unlink()
    with pytest.raises(UserError, match="max_new_tokens 4 -> 5"):
        run(OkBackend(), cfg(tmp_path, resume=True, gen=GenParams(max_new_tokens=5)))


def test_a_summary_written_by_summarize_only_before_run_json_is_not_taken_as_the_settings(tmp_path):
    """Such summaries recorded the summarizing command line's defaults, not the run's (guard)."""
    with pytest.raises(KeyboardInterrupt):
        run(OkBackend(crash_after=1), cfg(tmp_path))
    (tmp_path / "run" / "run.json").unlink(missing_ok=True)  # a run from before run.json
    old_cli = {"backend": "hf", "summarized_from_samples": True}  # what the old --summarize-only wrote
    run(None, cfg(tmp_path, gen=GenParams(max_new_tokens=256), backend_info=old_cli))
    (tmp_path / "run" / "run.json").unlink(missing_ok=True)
    assert run(OkBackend(), cfg(tmp_path, resume=True))["tasks"]["test:echo"]["total"] == 10


def test_resume_force_continues_and_records_both_setups(tmp_path):
    run(DtypeBackend("float32"), cfg(tmp_path, limit=4))
    summary = run(DtypeBackend("bfloat16"), cfg(tmp_path, resume=True, force=True, gen=GenParams(max_new_tokens=8)))
    assert summary["tasks"]["test:echo"]["total"] == 10
    history = summary["settings_history"]
    assert [h["settings"]["max_new_tokens"] for h in history] == [4, 8]
    assert [h["backend"]["dtype"] for h in history] == ["float32", "bfloat16"] and history[1]["forced"] is True
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["settings_history"] == history
    again = run(None, cfg(tmp_path))  # re-summarized: the history stays
    assert again["settings_history"] == history


def test_resume_with_the_same_settings_adds_no_history(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=4))
    summary = run(OkBackend(), cfg(tmp_path, resume=True))
    assert "settings_history" not in summary
    assert len(json.loads((tmp_path / "run" / "run.json").read_text())["sessions"]) == 1


def test_a_run_whose_samples_all_failed_may_resume_with_other_settings(tmp_path):
    """Failed samples are generated again, so nothing made with the old settings would be kept (guard)."""
    run(OkBackend(fail_ids=set(range(10))), cfg(tmp_path, limit=4))
    summary = run(OkBackend(), cfg(tmp_path, resume=True, gen=GenParams(max_new_tokens=9)))
    assert summary["tasks"]["test:echo"]["total"] == 10 and "settings_history" not in summary
    assert summary["generation"]["max_new_tokens"] == 9


def test_summarize_only_reports_the_settings_the_samples_were_made_with(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=4, gen=GenParams(max_new_tokens=7, seed=5), model_label="org/model"))
    summary = run(None, cfg(tmp_path, model_label="SmolLM2 (embedded)"))  # the CLI's defaults, not the run's
    assert summary["generation"]["max_new_tokens"] == 7 and summary["generation"]["seed"] == 5
    assert summary["model"] == "org/model"


# ---------------------------------------------------------------- item 11: no silent loss of stored results


BAD_LINES = {
    "garbage": b"{not json\n",
    "binary": b"\xff\xfe\x00\x81 binary\n",
    "deep": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "not a record": b"[1, 2, 3]\n",
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_resume_keeps_every_valid_line_after_a_corrupt_one(tmp_path, capsys, kind):
    run(OkBackend(), cfg(tmp_path))
    path = tmp_path / "run" / SAMPLES
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]) + BAD_LINES[kind] + b"".join(lines[3:]))  # echo_2 replaced
    backend = OkBackend()
    summary = run(backend, cfg(tmp_path, resume=True))
    assert [x for batch in backend.calls for x in batch] == ["2"]  # before: 2..9 regenerated, no word said
    assert summary["tasks"]["test:echo"]["total"] == 10
    assert sorted(ids_in(path)) == sorted(f"echo_{i}" for i in range(10))
    err = capsys.readouterr().err
    assert f"{path}:3: unreadable sample line skipped" in err and err.count("\n") == 1
    rejected = path.with_name(path.name + ".rejected")
    assert rejected.read_bytes() == BAD_LINES[kind]  # the evidence is kept


def test_summarize_only_skips_a_corrupt_line_without_losing_the_rest(tmp_path):
    run(OkBackend(), cfg(tmp_path))
    path = tmp_path / "run" / SAMPLES
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"\x00\x01junk\n" + b"".join(lines[1:]))
    summary = run(None, cfg(tmp_path))
    assert summary["tasks"]["test:echo"]["total"] == 10


def test_a_samples_file_with_no_readable_line_is_refused_and_left_alone(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=2))
    path = tmp_path / "run" / SAMPLES
    junk = os.urandom(200).replace(b"\n", b"") + b"\n" + b"\x89PNG\r\n"
    path.write_bytes(junk)
    with pytest.raises(UserError, match="holds no readable sample line .*--overwrite"):
        run(OkBackend(), cfg(tmp_path, resume=True))
    assert path.read_bytes() == junk


def test_summary_counts_an_id_stored_twice_once(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=4))
    path = tmp_path / "run" / SAMPLES
    path.write_bytes(path.read_bytes() * 2)  # what two unlocked runs left behind
    assert run(None, cfg(tmp_path, limit=4))["tasks"]["test:echo"]["total"] == 4


def test_summarize_only_of_a_task_the_run_does_not_hold_is_refused(tmp_path):
    run(OkBackend(), cfg(tmp_path, limit=4))
    before = (tmp_path / "run" / "summary.json").read_bytes()
    with pytest.raises(UserError, match=r"holds no samples for test:other \(it holds: test:echo\).*--tasks test:echo"):
        run(None, cfg(tmp_path, tasks=["test:other"]))
    assert (tmp_path / "run" / "summary.json").read_bytes() == before  # before: replaced by an empty summary


def test_a_summary_of_some_tasks_keeps_the_others_the_run_holds(tmp_path):
    run(OkBackend(), cfg(tmp_path, tasks=["test:echo", "test:other"], limit=4))
    summary = run(None, cfg(tmp_path, tasks=["test:other"], limit=4))
    assert set(summary["tasks"]) == {"test:echo", "test:other"}
    assert summary["tasks_carried_over"] == ["test:echo"]
    assert summary["tasks"]["test:echo"]["total"] == 4
    resumed = run(OkBackend(), cfg(tmp_path, tasks=["test:other"], resume=True))
    assert resumed["tasks"]["test:echo"]["total"] == 4 and resumed["tasks"]["test:other"]["total"] == 10


def test_open_run_refuses_before_any_model_would_load(tmp_path):
    """`rest eval` calls open_run before loading: these refusals need no backend at all."""
    run(OkBackend(), cfg(tmp_path, limit=2))
    with pytest.raises(UserError, match="already has samples"):
        runner.open_run(cfg(tmp_path), generating=True)
    with pytest.raises(UserError, match="max_new_tokens 4 -> 9"):
        runner.open_run(cfg(tmp_path, resume=True, gen=GenParams(max_new_tokens=9)), generating=True)
    lock = runner.open_run(cfg(tmp_path, resume=True, force=True, gen=GenParams(max_new_tokens=9)), generating=True)
    lock.release()
    assert RunStore(tmp_path / "run").load("test:echo")  # nothing was touched
