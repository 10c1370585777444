"""The helper thread of :mod:`nnbasics.accel.helper_thread`: task claiming, results, concurrency, fork.

The results of the threaded paths are compared bit for bit with a run on the calling thread alone
(``run_job(..., helper=False)``), since every task's arithmetic is fixed; their agreement with the
NumPy reference is tested in ``test_softmax_paths.py``.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from nnbasics.accel import helper_thread as _helper_thread
from nnbasics.accel import softmax_kernel as _softmax_kernel
from nnbasics.accel.softmax_kernel import JOB_DONE, JOB_N_TASKS, JOB_STATE
from nnbasics.core import activations
from nnbasics.core.activations import log_softmax, softmax

BITS = _helper_thread._FIELD_BITS


def state(generation: int, n_tasks: int, next_task: int) -> int:
    return (generation << (2 * BITS)) | (n_tasks << BITS) | next_task


def test_claim_takes_each_task_of_its_generation_once():
    job, _ = _helper_thread.new_job()
    job[JOB_STATE] = state(5, 3, 0)
    assert [_helper_thread._claim(job, 5) for _ in range(4)] == [0, 1, 2, -1]
    assert job[JOB_STATE] == state(5, 3, 3)


def test_claim_ignores_another_generation():
    """A helper late for a job (or early for the next) claims nothing and changes nothing."""
    job, _ = _helper_thread.new_job()
    job[JOB_STATE] = state(6, 3, 1)
    assert _helper_thread._claim(job, 5) == -1
    assert _helper_thread._claim(job, 7) == -1
    assert job[JOB_STATE] == state(6, 3, 1)


def test_wait_done_counts_finished_tasks():
    job, _ = _helper_thread.new_job()
    job[JOB_N_TASKS] = 2
    job[JOB_DONE] = 1
    assert not _helper_thread._wait_done(job, 10)
    job[JOB_DONE] = 2
    assert _helper_thread._wait_done(job, 0)


def rows_job(x: np.ndarray, out: np.ndarray, row_max: np.ndarray, task_rows: int):
    def fill(job, job_values):
        n_tasks = -(-x.shape[0] // task_rows)
        activations._fill_job(job, _softmax_kernel.KIND_ROWS, x, out, row_max, False, task_rows,
                              n_tasks)

    return fill


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("task_rows", [1, 3, 64])
def test_threaded_job_equals_caller_alone(dtype, task_rows):
    """Every task runs exactly once, and which thread runs it does not change a bit."""
    x = np.random.default_rng(0).standard_normal((200, 2000)).astype(dtype)
    outs, maxima = [], []
    for helper in (True, False):
        out = np.full_like(x, np.nan)  # a task that did not run leaves NaN
        row_max = np.full(200, np.nan, dtype=dtype)
        _helper_thread.run_job(rows_job(x, out, row_max, task_rows), helper=helper)
        outs.append(out)
        maxima.append(row_max)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(maxima[0], maxima[1])
    np.testing.assert_array_equal(maxima[0], x.max(axis=1))
    np.testing.assert_allclose(outs[0].sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("log", [False, True])
def test_wide_row_threaded_equals_alone(monkeypatch, log):
    """The three chunk passes of a wide row give the same bits with and without the helper."""
    width = 3 * activations._WIDE_CHUNK_BYTES // 4 + 999  # float32: 4 chunks
    x = (4 * np.random.default_rng(1).standard_normal((1, width))).astype(np.float32)
    threaded = (log_softmax if log else softmax)(x)
    monkeypatch.setattr(activations, "_N_THREADS", 1)
    np.testing.assert_array_equal((log_softmax if log else softmax)(x), threaded)


def test_job_with_too_many_tasks_is_refused():
    def fill(job, job_values):
        job[JOB_N_TASKS] = _helper_thread.MAX_TASKS + 1

    for helper in (True, False):
        with pytest.raises(ValueError, match="at most"):
            _helper_thread.run_job(fill, helper=helper)


def test_concurrent_callers_get_correct_results():
    """Threads calling at once: one uses the helper, the others run alone; all are right."""
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((64, 20_000)).astype(np.float32) for _ in range(4)]
    expected = [softmax(x) for x in inputs]
    errors: list[str] = []

    def call(k: int) -> None:
        for _ in range(20):
            if not np.array_equal(softmax(inputs[k]), expected[k]):
                errors.append(f"caller {k}")

    threads = [threading.Thread(target=call, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux CPU affinity only")
def test_helper_is_kept_off_the_callers_cpu():
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        pytest.skip("the process may use one CPU only: no helper")
    softmax(np.ones((64, 20_000), dtype=np.float32))
    helper = _helper_thread._the_helper()
    pinned = os.sched_getaffinity(helper.native_id)
    assert pinned == helper._pinned
    assert len(pinned) == len(allowed) - 1 and pinned < allowed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_computes_without_the_parents_helper():
    """The helper thread does not survive fork; a child must neither hang nor miss a task."""
    x = np.random.default_rng(3).standard_normal((64, 20_000)).astype(np.float32)
    expected = softmax(x)  # the parent's helper exists now
    pid = os.fork()
    if pid == 0:  # child: exit code 0 if the result is right
        ok = all(np.array_equal(softmax(x), expected) for _ in range(3))
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def helper_cpu_seconds(native_id: int) -> float:
    with open(f"/proc/self/task/{native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="per-thread CPU times of Linux")
def test_helper_stops_polling_when_idle_even_after_an_unpublished_post():
    """The helper polls for about a millisecond after a job, then sleeps; a job posted but never
    published (an interrupted caller) must not keep it spinning."""
    x = np.ones((64, 20_000), dtype=np.float32)
    softmax(x)
    helper = _helper_thread._the_helper()
    with helper.busy:
        helper.post()  # announced, never published
    time.sleep(0.05)
    before = helper_cpu_seconds(helper.native_id)
    time.sleep(0.3)
    assert helper_cpu_seconds(helper.native_id) - before <= 0.05
    np.testing.assert_array_equal(softmax(x), np.full_like(x, 1 / 20_000))


def test_helper_loop_is_compiled_in_the_callers_thread(monkeypatch):
    """The helper thread must never be the one compiling (or loading) its loop: a thread inside
    LLVM when the interpreter exits aborts the process."""
    callers: list[int] = []
    serve = _helper_thread._serve

    def recording_serve(*args):
        callers.append(threading.get_ident())
        return serve(*args)

    monkeypatch.setattr(_helper_thread, "_serve", recording_serve)
    _helper_thread._Helper()  # a second helper, idle (nothing is posted to it)
    assert callers[:1] == [threading.get_ident()]


def test_job_runs_on_the_caller_when_no_thread_can_start(monkeypatch):
    def no_thread():
        raise RuntimeError("can't start new thread")

    x = np.random.default_rng(4).standard_normal((64, 20_000)).astype(np.float32)
    with_helper = softmax(x)
    monkeypatch.setattr(_helper_thread, "_the_helper", no_thread)
    np.testing.assert_array_equal(softmax(x), with_helper)


def test_the_helper_thread_does_take_tasks():
    """Results alone cannot show that the helper works (the caller claims what it leaves): its
    task counter must grow over large jobs (retried: a busy machine may not schedule it)."""
    x = np.random.default_rng(5).standard_normal((256, 20_000)).astype(np.float32)
    softmax(x)
    helper = _helper_thread._the_helper()
    before = int(helper.tasks_run[0])
    for _ in range(50):
        out = np.full_like(x, np.nan)
        row_max = np.full(256, np.nan, dtype=np.float32)
        _helper_thread.run_job(rows_job(x, out, row_max, 1), helper=True)  # 256 tasks
        assert not np.isnan(out).any()
        if helper.tasks_run[0] > before:
            break
    assert helper.tasks_run[0] > before


def test_interrupted_caller_returns_only_after_the_helpers_last_task(monkeypatch):
    """A KeyboardInterrupt raised as the caller's compiled share returns (before it waits for
    the helper) must not let run_job return while the helper still writes into the arrays."""
    publish_and_work = _helper_thread._publish_and_work
    done_at_exit: list[tuple[int, int]] = []

    def interrupted(job, job_values, generation, max_wait_spins):
        publish_and_work(job, job_values, generation, 0)  # no waiting for the helper at all
        raise KeyboardInterrupt

    monkeypatch.setattr(_helper_thread, "_publish_and_work", interrupted)
    # tasks of a ~4 MB row each (milliseconds): the helper is mid-task when the caller is done
    x = np.random.default_rng(6).standard_normal((8, 1_000_000)).astype(np.float32)
    helper = _helper_thread._the_helper()
    for _ in range(10):
        out = np.full_like(x, np.nan)
        row_max = np.full(8, np.nan, dtype=np.float32)
        with pytest.raises(KeyboardInterrupt):
            _helper_thread.run_job(rows_job(x, out, row_max, 1), helper=True)
        done_at_exit.append((int(helper.job[JOB_DONE]), int(helper.job[JOB_N_TASKS])))
        assert not np.isnan(out).any()  # every task finished before run_job let go
    assert all(done == n_tasks for done, n_tasks in done_at_exit)
    monkeypatch.undo()
    np.testing.assert_array_equal(softmax(x), softmax(x.copy()))  # the helper is still usable


def test_a_failed_thread_start_is_not_retried_on_every_call(monkeypatch):
    starts: list[int] = []

    class Unstartable:
        def __init__(self):
            starts.append(1)
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_helper_thread, "_Helper", Unstartable)
    monkeypatch.setattr(_helper_thread, "_helper", None)
    monkeypatch.setattr(_helper_thread, "_no_thread", False)
    x = np.random.default_rng(7).standard_normal((64, 20_000)).astype(np.float32)
    for _ in range(3):
        out = np.full_like(x, np.nan)
        row_max = np.full(64, np.nan, dtype=np.float32)
        _helper_thread.run_job(rows_job(x, out, row_max, 8), helper=True)  # runs on the caller
        assert not np.isnan(out).any()
    assert len(starts) == 1


@pytest.mark.parametrize(("files", "expected"), [
    ({"cpu.max": "50000 100000"}, 1),  # half a CPU's time: no helper
    ({"cpu.max": "250000 100000"}, 2),
    ({"cpu.max": "max 100000"}, None),  # no quota: the affinity set decides
    ({"quota": "100000", "period": "100000"}, 1),  # cgroup v1
    ({"quota": "-1", "period": "100000"}, None),
    ({}, None),  # no cgroup files at all
    ({"cpu.max": "garbage"}, None),
])
def test_usable_cpus_honours_a_cgroup_quota(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    limits = ((str(tmp_path / "cpu.max"), None),
              (str(tmp_path / "quota"), str(tmp_path / "period")))
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert activations._usable_cpus(limits) == min(affinity, expected or affinity)
