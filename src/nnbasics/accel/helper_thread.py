r"""The helper thread that computes half of a large softmax next to the caller, without the GIL.

:mod:`nnbasics.core.activations` splits a large (log-)softmax into tasks (blocks of rows, or column
chunks of one very wide row), described by two small arrays (see "one task of a job" in
:mod:`nnbasics.accel.softmax_kernel`).  :func:`run_job` runs them on the calling thread and on the one
helper thread kept here.  The hand-off is what this module is about: for a call of about a
millisecond, how soon the helper starts decides whether it helps at all.  Measured on the 2-vCPU
KVM guest this was written on (64x50000 float32 softmax, 8 tasks, 2026-11-27):

* a helper blocked in a futex (the ``ThreadPoolExecutor`` used before) started its first task
  80-130 us after the call began between back-to-back calls, 350-540 us after the caller had
  been idle for 50 ms: this guest does not poll when idle (``haltpoll`` with
  ``guest_halt_poll_ns = 0``), so every wake-up of an idle vCPU goes through the hypervisor;
* after such an idle period the kernel queued the woken helper on the *caller's* CPU in 21-23 of
  24 calls, where it could only start once the caller waited for it: two threads splitting a
  pure compute loop took as long as one (1.02-1.08 ms vs 0.98-1.00 ms), and the softmax ran at
  single-thread speed (1.7-2.9 ms instead of about 1.1 ms) in most blocks of the benchmark;
* a helper that polled for the job in compiled code but then ran its tasks as Python calls still
  started 70-130 us late: it blocked on the GIL, which the caller held until it entered the
  kernel, and that short block was again a full wake-up.

Hence the design, all local to our one helper thread:

* **no GIL in the hand-off**: the caller writes the job, publishes it with one atomic store and
  runs its share in compiled code; the helper polls for it, claims tasks and runs them in
  compiled code (:func:`_serve`); tasks are claimed by compare-and-swap on one word that holds
  the job's generation, its number of tasks and the next task index, so a helper late for a job
  finds it over and claims nothing.  Python code runs only before (writing the job) and after
  (waiting for it);
* **a short spin**: after its last task the helper keeps polling for ``_SPIN_S`` before it
  blocks in a condition variable, so a call that follows within that time needs no wake-up (what
  an OpenMP runtime does between parallel regions; libgomp spins much longer by default);
* **placement**: before each job the helper's CPU affinity is set to the CPUs the caller may use
  minus the one it is running on (one ``sched_setaffinity`` call, only when that set changes), so
  the kernel cannot queue the helper behind the caller (Linux only).

The caller never waits for a helper that has not started: it claims every task the helper has
not, and waits only for tasks the helper has claimed.  A helper that is not scheduled at all (a
busy machine, a forked child where the thread does not exist) costs nothing but the post.  Which
thread runs which task changes nothing in the result: every task writes its own part of the
output, and each task's arithmetic is fixed.

The compiled loops here are cached on disk with :func:`~nnbasics.accel.softmax_kernel.run_task` and
the job fields compiled into them; numba's cache checks only this file's timestamp, so after an
edit of ``_softmax_kernel.py`` this module's cache must go too (``tests/conftest.py`` removes it
before a test session when it is older than that file).
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading
import time
from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from nnbasics.accel.softmax_kernel import JOB_DONE, JOB_FIELDS, JOB_N_TASKS, JOB_STATE, run_task

__all__ = ["MAX_TASKS", "new_job", "run_job"]

_SPIN_S = 1e-3  # how long an idle helper polls for the next job before it blocks
_CALLER_SPIN_S = 2e-3  # how long the caller polls for the helper's last task before it sleeps
_CALIBRATION_SPINS = 10_000  # polls timed once to turn those times into counts

# ----------------------------------------------------------------------------------------------
# atomics on an int64 array, and the spin hint
# ----------------------------------------------------------------------------------------------

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_PAUSE = "llvm.x86.sse2.pause"  # LLVM's name for the x86 ``pause`` instruction


def _int64_slot(typingctx, array, index):
    return (
        isinstance(array, types.Array)
        and array.dtype == types.int64
        and isinstance(index, types.Integer)
    )


def _slot_pointer(context, builder, signature, args):
    array = context.make_array(signature.args[0])(context, builder, value=args[0])
    return cgutils.get_item_pointer(context, builder, signature.args[0], array, [args[1]])


@intrinsic
def _load_acquire(typingctx, array, index):
    """``array[index]`` read atomically (acquire): reloaded on every poll, never torn."""
    if not _int64_slot(typingctx, array, index):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_slot_pointer(context, builder, signature, args), "acquire", 8)

    return types.int64(array, index), codegen


@intrinsic
def _store_release(typingctx, array, index, value):
    """``array[index] = value`` atomically (release): earlier writes are visible before it."""
    if not _int64_slot(typingctx, array, index) or value != types.int64:
        return None

    def codegen(context, builder, signature, args):
        pointer = _slot_pointer(context, builder, signature, args)
        builder.store_atomic(args[2], pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def _fetch_add(typingctx, array, index, value):
    """``array[index] += value`` atomically; returns the old value."""
    if not _int64_slot(typingctx, array, index) or value != types.int64:
        return None

    def codegen(context, builder, signature, args):
        pointer = _slot_pointer(context, builder, signature, args)
        return builder.atomic_rmw("add", pointer, args[2], "acq_rel")

    return types.int64(array, index, value), codegen


@intrinsic
def _compare_exchange(typingctx, array, index, expected, new):
    """Set ``array[index] = new`` if it equals ``expected``, atomically; True if it did."""
    if not _int64_slot(typingctx, array, index) or (expected, new) != (types.int64, types.int64):
        return None

    def codegen(context, builder, signature, args):
        pointer = _slot_pointer(context, builder, signature, args)
        result = builder.cmpxchg(pointer, args[2], args[3], "acq_rel", "acquire")
        return builder.extract_value(result, 1)

    return types.boolean(array, index, expected, new), codegen


@intrinsic
def _cpu_relax(typingctx):
    """The x86 ``pause`` hint inside spin loops (nothing elsewhere)."""

    def codegen(context, builder, signature, args):
        if _X86:
            pause_type = ir.FunctionType(ir.VoidType(), [])
            builder.call(cgutils.get_or_insert_function(builder.module, pause_type, _PAUSE), [])
        return context.get_dummy_value()

    return types.void(), codegen


# ----------------------------------------------------------------------------------------------
# claiming and running tasks, compiled (no GIL)
# ----------------------------------------------------------------------------------------------

# JOB_STATE packs the job's generation, its number of tasks and the next task to claim:
# (generation << 40) | (n_tasks << 20) | next_task.  A claim is a compare-and-swap of the whole
# word, so it succeeds only while that job is unfinished, and then its fields are still in place:
# the caller rewrites them only after every task of the job is done.
_FIELD_BITS = 20
_FIELD_MASK = (1 << _FIELD_BITS) - 1
MAX_TASKS = _FIELD_MASK  # tasks per job
_GENERATION_MASK = (1 << (63 - 2 * _FIELD_BITS)) - 1


@njit(nogil=True, cache=True)
def _claim(job, generation):
    """The index of an unclaimed task of job ``generation``, or -1 if it has none (or is over)."""
    while True:
        state = _load_acquire(job, JOB_STATE)
        task = state & _FIELD_MASK
        n_tasks = (state >> _FIELD_BITS) & _FIELD_MASK
        if (state >> (2 * _FIELD_BITS)) != generation or task >= n_tasks:
            return -1
        if _compare_exchange(job, JOB_STATE, state, state + 1):
            return task


@njit(nogil=True, cache=True)
def _work(job, job_values, generation):
    """Claim and run tasks of job ``generation`` until none is left; return how many ran here."""
    n_run = 0
    task = _claim(job, generation)
    while task >= 0:
        run_task(job, job_values, task)
        _fetch_add(job, JOB_DONE, 1)
        n_run += 1
        task = _claim(job, generation)
    return n_run


@njit(nogil=True, cache=True)
def _publish_and_work(job, job_values, generation, max_wait_spins):
    """The caller's side: publish job ``generation``, run tasks, poll until all are done.

    Returns False if the helper's last task is still running after ``max_wait_spins`` polls.
    """
    n_tasks = job[JOB_N_TASKS]
    _store_release(job, JOB_STATE, (generation << (2 * _FIELD_BITS)) | (n_tasks << _FIELD_BITS))
    _work(job, job_values, generation)
    return _wait_done(job, max_wait_spins)


@njit(nogil=True, cache=True)
def _wait_done(job, max_spins):
    """Poll until the job's tasks are all done (True) or for ``max_spins`` polls (False)."""
    spins = 0
    while _load_acquire(job, JOB_DONE) < job[JOB_N_TASKS]:
        if spins >= max_spins:
            return False
        _cpu_relax()
        spins += 1
    return True


@njit(nogil=True, cache=True)
def _serve(job, job_values, seen, max_idle_spins, tasks_run):
    """The helper's side: run every job published after generation ``seen``; return the last
    generation seen once none has come for ``max_idle_spins`` polls.  ``tasks_run[0]`` counts
    the tasks run here (a diagnostic: the tests check that the helper does take work)."""
    spins = 0
    while spins < max_idle_spins:
        generation = _load_acquire(job, JOB_STATE) >> (2 * _FIELD_BITS)
        if generation != seen:
            _fetch_add(tasks_run, 0, _work(job, job_values, generation))
            seen = generation
            spins = 0
        else:
            _cpu_relax()
            spins += 1
    return seen


# ----------------------------------------------------------------------------------------------
# the helper thread
# ----------------------------------------------------------------------------------------------


def new_job() -> tuple[np.ndarray, np.ndarray]:
    """Fresh job arrays: the int64 fields and the float64 values (see :mod:`_softmax_kernel`)."""
    return np.zeros(JOB_FIELDS, dtype=np.int64), np.zeros(2, dtype=np.float64)


def _calibrate_spins(seconds: float) -> int:
    """How many polls of :func:`_wait_done` take about ``seconds`` on this machine."""
    never_done = np.zeros(JOB_FIELDS, dtype=np.int64)
    never_done[JOB_N_TASKS] = 1
    _wait_done(never_done, 1)  # compiled or loaded from the cache first
    start = time.perf_counter()
    _wait_done(never_done, _CALIBRATION_SPINS)
    elapsed = max(time.perf_counter() - start, 1e-7)
    return max(1, int(seconds * _CALIBRATION_SPINS / elapsed))


class _Helper:
    """One daemon thread serving the jobs published in its job arrays, one caller at a time."""

    def __init__(self) -> None:
        self.busy = threading.Lock()  # held by the caller whose job is in the arrays
        self.job, self.job_values = new_job()
        self.tasks_run = np.zeros(1, dtype=np.int64)  # tasks the helper thread has run
        self.generation = 0  # of the last job posted (written under self._cond)
        self.caller_wait_spins = _calibrate_spins(_CALLER_SPIN_S)
        self._idle_spins = _calibrate_spins(_SPIN_S)
        # Compile (or load from the cache) the helper's loop here, in the caller's thread: a
        # helper thread still inside LLVM when the interpreter exits aborts the process (seen
        # once with a cold cache: an LLVM assertion after the script's last line).
        _serve(self.job, self.job_values, 0, 0, self.tasks_run)
        self._cond = threading.Condition()
        self._pinned: set[int] | None = None
        self._started = threading.Event()
        self.native_id = 0
        self._thread = threading.Thread(target=self._loop, name="nnbasics-helper", daemon=True)
        self._thread.start()
        self._started.wait()

    def post(self) -> int:
        """Announce the next job (to a blocked helper); returns its generation."""
        with self._cond:
            self.generation = (self.generation + 1) & _GENERATION_MASK or 1
            self._cond.notify()
            return self.generation

    def place(self, allowed: set[int], caller_cpu: int) -> None:
        """Keep the helper off the caller's CPU: affinity = ``allowed`` minus ``caller_cpu``."""
        others = allowed - {caller_cpu}
        if others and others != self._pinned:
            try:
                os.sched_setaffinity(self.native_id, others)
            except OSError:  # e.g. the CPU set changed under us: leave placement to the kernel
                return
            self._pinned = others

    def _loop(self) -> None:
        self.native_id = threading.get_native_id()
        self._started.set()
        seen_generation = 0
        while True:
            with self._cond:  # sleep until a job newer than the last one seen is posted
                while self.generation == seen_generation:
                    self._cond.wait()
                posted = self.generation
            # Runs the jobs as they are published, and polls (without the GIL) until no job has
            # come for _SPIN_S.  A job posted but not published by then (its caller was
            # interrupted) counts as seen: a caller never waits for tasks we have not claimed.
            seen_generation = _serve(self.job, self.job_values, seen_generation, self._idle_spins,
                                     self.tasks_run)
            if seen_generation != posted and self.generation == posted:
                seen_generation = posted


_helper: _Helper | None = None
_helper_lock = threading.Lock()


_no_thread = False  # set when a helper thread could not be started: do not retry every call


def _the_helper() -> _Helper:
    global _helper, _no_thread
    with _helper_lock:
        if _no_thread:
            raise RuntimeError("no helper thread in this process")
        if _helper is None:
            try:
                _helper = _Helper()
            except RuntimeError:  # "can't start new thread"
                _no_thread = True
                raise
        return _helper


def _forget_helper_in_child() -> None:
    """After ``fork`` the helper thread does not exist in the child: start a new one on demand."""
    global _helper, _helper_lock, _no_thread
    _helper = None
    _no_thread = False
    _helper_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_helper_in_child)


def _load_sched_getcpu() -> Callable[[], int] | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        function = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = []
    return function


_sched_getcpu = _load_sched_getcpu()


def _caller_cpus() -> tuple[set[int], int] | None:
    """(CPUs the calling thread may run on, the one it runs on), or None where unknown."""
    if _sched_getcpu is None:
        return None
    cpu = _sched_getcpu()
    return (os.sched_getaffinity(0), cpu) if cpu >= 0 else None


def _fill_checked(fill: Callable[[np.ndarray, np.ndarray], None], job: np.ndarray,
                  job_values: np.ndarray) -> None:
    fill(job, job_values)
    if not 0 <= job[JOB_N_TASKS] <= MAX_TASKS:
        raise ValueError(f"a job has at most {MAX_TASKS} tasks, got {job[JOB_N_TASKS]}")


def _run_alone(fill: Callable[[np.ndarray, np.ndarray], None]) -> None:
    job, job_values = new_job()
    _fill_checked(fill, job, job_values)
    for task in range(job[JOB_N_TASKS]):
        run_task(job, job_values, task)


def _sleep_until_done(job: np.ndarray) -> None:
    """Wait for the helper's last task, sleeping; it must finish even if we are interrupted."""
    try:
        while not _wait_done(job, 0):
            time.sleep(50e-6)
    except BaseException:  # e.g. KeyboardInterrupt: the task still writes into the caller's arrays
        while not _wait_done(job, 1 << 30):
            pass
        raise


def run_job(fill: Callable[[np.ndarray, np.ndarray], None], helper: bool = True) -> None:
    """Run a job on the calling thread and the helper thread; return when every task is done.

    ``fill(job, job_values)`` writes the job's fields (all but ``JOB_STATE`` and ``JOB_DONE``) into
    the arrays it is given.  The arrays the job addresses must stay alive until this returns.  The
    job runs on the caller alone if ``helper`` is false, if another thread's job holds the helper,
    or if the caller may use only the CPU it is on.
    """
    cpus = _caller_cpus()
    if not helper or (cpus is not None and len(cpus[0]) < 2):
        _run_alone(fill)
        return
    try:
        the_helper = _the_helper()
    except RuntimeError:  # no thread can be started here ("can't start new thread")
        _run_alone(fill)
        return
    if not the_helper.busy.acquire(blocking=False):
        _run_alone(fill)
        return
    job, job_values = the_helper.job, the_helper.job_values
    published = False
    try:
        _fill_checked(fill, job, job_values)
        job[JOB_DONE] = 0
        if cpus is not None:
            the_helper.place(*cpus)
        generation = the_helper.post()
        published = True  # from here on the helper may be writing into the caller's arrays
        if not _publish_and_work(job, job_values, generation, the_helper.caller_wait_spins):
            _sleep_until_done(job)
    finally:
        # A signal (KeyboardInterrupt) is raised when compiled code returns, which can be right
        # after _publish_and_work, before the sleeping wait: the helper may still be running a
        # task that writes into arrays about to be freed, and its late JOB_DONE increment would
        # land in the next job.  The compiled wait cannot be cut short, and it ends: once the
        # job is published the caller has claimed every task the helper has not.
        if published and job[JOB_STATE] >> (2 * _FIELD_BITS) == the_helper.generation:
            _wait_done(job, 1 << 62)
        the_helper.busy.release()
