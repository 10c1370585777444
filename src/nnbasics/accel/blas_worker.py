r"""Run one small compiled job on a worker thread of NumPy's OpenBLAS, beside the caller.

Why: in a training step on two cores the two large matrix products keep both cores busy, but
everything between them (the activation, the small output-layer products, the loss) runs on the
calling thread while OpenBLAS's worker *spins* on the other core, waiting for the next product
(for ~0.1 s after each one: ``2^28`` clock ticks by default).  Work handed to a thread of our own
has to take the core from that spinning worker first: a helper woken by ``futex`` once a batch
made the batch gather *slower* (19 -> 44 ms an epoch), and a helper that spins itself shares the
core with the worker in time slices of ~5 ms (``benchmarks/RESULTS.md``, sessions 3-5).  Handing
the job to the spinning worker itself costs nothing: it is already running and polls its queue.

How: OpenBLAS's pthreads server queues work for its workers with
``exec_blas_async(position, queue)`` and waits for it with ``exec_blas_async_wait(n, queue)``;
a queue entry whose mode has the ``BLAS_PTHREAD`` bit runs ``routine(args)``.  Both functions
are exported by the OpenBLAS that NumPy's wheels bundle, and OpenBLAS's own GEMMs hand their
second half to the worker the same way, so a job of ours simply takes its turn: a GEMM that finds
the worker busy with it waits until it is done, as it would for another thread's GEMM.

The entry's layout (``blas_queue_t`` in OpenBLAS's ``common_thread.h``) is not a public API, so
this is used only where it is known and proven:

* Linux on x86-64, where the entry is nine pointer-sized fields, a ``pthread_mutex_t`` (40
  bytes) and a ``pthread_cond_t`` (48 bytes), then ``int mode`` at byte 160; OpenBLAS 0.3.x
  built with its pthreads server (``openblas_get_parallel() == 1``), found in NumPy's own
  ``numpy.libs`` as :mod:`nnbasics.accel.blas` finds its GEMM;
* at least one worker thread exists (``blas_num_threads >= 2``: otherwise a job would wait for
  a worker forever) and the caller has not limited OpenBLAS to one thread (threadpoolctl's
  ``threadpool_limits(1)``: then it gets one core's speed, as asked);
* a self-test job (gather three rows on the worker) must give the right result first.

Anywhere else :func:`available` is False and callers do the work themselves: same results, the
job only decides which thread computes them.
"""

from __future__ import annotations

import ctypes
import platform
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from nnbasics.accel import blas as _blas

__all__ = ["Job", "available"]

_BLAS_PTHREAD = 0x4000  # mode bit: the worker calls routine(args)
_QUEUE_WORDS = 32  # 256 bytes, room for the 176-byte entry
# 64-bit word offsets of the entry's fields used here (x86-64 Linux layout, module docstring)
_ROUTINE, _ARGS, _SA, _SB, _NEXT, _MODE = 0, 3, 6, 7, 8, 20
_ARGS_WORDS = 16  # what a job's routine reads its arguments from

# The switch the tests and benchmarks use to compare with the caller doing the work itself.
enabled = True


@intrinsic
def _call_queue_function(typingctx, address, count, queue):
    """Call ``int f(long, void *)`` at ``address`` (``exec_blas_async[_wait]``)."""
    if not all(isinstance(t, types.Integer) for t in (address, count, queue)):
        return None

    def codegen(context, builder, signature, args):
        pointer = ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.IntType(32), [ir.IntType(64), pointer])
        function = builder.inttoptr(args[0], function_type.as_pointer())
        builder.call(function, [args[1], builder.inttoptr(args[2], pointer)])
        return context.get_dummy_value()

    return types.void(address, count, queue), codegen


@njit(nogil=True, cache=True)
def _post(post_address, queue, routine, args):
    queue[_ROUTINE] = routine
    queue[_ARGS] = args.ctypes.data
    # sa/sb are the worker's GEMM buffers: given (unused), so that it computes none
    queue[_SA] = args.ctypes.data
    queue[_SB] = args.ctypes.data
    queue[_NEXT] = 0
    queue[_MODE] = _BLAS_PTHREAD  # int mode = BLAS_PTHREAD, int status = 0
    _call_queue_function(post_address, 0, queue.ctypes.data)


@njit(nogil=True, cache=True)
def _wait(wait_address, queue):
    _call_queue_function(wait_address, 1, queue.ctypes.data)


@dataclass(frozen=True)
class _Binding:
    post: int  # exec_blas_async
    wait: int  # exec_blas_async_wait
    server_threads: ctypes.c_int  # blas_num_threads: the worker threads + 1
    get_num_threads: Callable[[], int]


def _symbol(library: ctypes.CDLL, *names: str) -> ctypes._CFuncPtr | None:
    for name in names:
        found = getattr(library, name, None)
        if found is not None:
            return found
    return None


def _bind(path: str) -> _Binding | None:
    try:
        library = ctypes.CDLL(path)  # already loaded by NumPy: this only looks it up
    except OSError:  # pragma: no cover - depends on the machine
        return None
    post, wait = _symbol(library, "exec_blas_async"), _symbol(library, "exec_blas_async_wait")
    config = _symbol(library, "scipy_openblas_get_config64_", "scipy_openblas_get_config",
                     "openblas_get_config64_", "openblas_get_config")
    parallel = _symbol(library, "scipy_openblas_get_parallel64_", "scipy_openblas_get_parallel",
                       "openblas_get_parallel64_", "openblas_get_parallel")
    num_threads = _symbol(library, "scipy_openblas_get_num_threads64_",
                          "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
                          "openblas_get_num_threads")
    if None in (post, wait, config, parallel, num_threads):
        return None
    config.restype = ctypes.c_char_p
    parallel.restype = num_threads.restype = ctypes.c_int
    config.argtypes = parallel.argtypes = num_threads.argtypes = []
    version = (config() or b"").decode("ascii", "replace")
    if not version.startswith("OpenBLAS 0.3.") or parallel() != 1:  # 1: the pthreads server
        return None
    try:
        server_threads = ctypes.c_int.in_dll(library, "blas_num_threads")
    except ValueError:
        return None
    return _Binding(ctypes.cast(post, ctypes.c_void_p).value,
                    ctypes.cast(wait, ctypes.c_void_p).value, server_threads, num_threads)


def _has_workers(binding: _Binding) -> bool:
    return binding.server_threads.value >= 2 and binding.get_num_threads() >= 2


_lock = threading.Lock()
_binding: _Binding | None = None
_given_up = False  # a definite failure: never looked up again in this process


def _self_test(binding: _Binding) -> bool:
    """Gather three rows on the worker and compare (the job of :mod:`nnbasics.accel.mlp_kernels`)."""
    from nnbasics.accel import mlp_kernels as mlp_inner  # the job lives with the kernel it runs

    rng = np.random.default_rng(0)
    X = rng.standard_normal((9, 5)).astype(np.float32)
    y = np.arange(9, dtype=np.int64)
    rows = np.array([7, 2, 5], dtype=np.int64)
    X_out, y_out = np.zeros((3, 5), dtype=np.float32), np.zeros(3, dtype=np.int64)
    job = Job(binding)
    try:
        job.post(mlp_inner.gather_job(X.dtype),
                 mlp_inner.gather_job_args(job.args, X, y, rows, X_out, y_out))
    finally:
        job.wait()  # also when interrupted: the job writes into these arrays
    return bool(np.array_equal(X_out, X[rows]) and np.array_equal(y_out, y[rows]))


def _lookup() -> _Binding | None:
    """The proven binding, or None.  A binding that cannot be tested now (OpenBLAS has no
    worker thread at the moment, or the test was interrupted) is tried again on the next call;
    only a definite failure (another platform or library, a wrong result) is final."""
    global _binding, _given_up
    with _lock:
        if _binding is None and not _given_up:
            if not (sys.platform.startswith("linux")
                    and platform.machine() in ("x86_64", "AMD64")):
                _given_up = True
                return None
            candidates = [b for b in map(_bind, _blas._numpy_blas_paths()) if b is not None]
            if not candidates:
                _given_up = True
            for binding in candidates:
                if not _has_workers(binding):
                    break  # no worker to run the test on: try again later
                if _self_test(binding):
                    _binding = binding
                    break
                _given_up = True  # the job gave a wrong result: never again here
        return _binding


def available() -> bool:
    """Whether a :class:`Job` can run now.

    Returns
    -------
    bool
        True if the module is ``enabled``, the binding is proven (module docstring), and
        OpenBLAS has a worker thread and may use it at this moment (its thread setting is 2 or
        more).
    """
    if not enabled:
        return False
    binding = _lookup()
    return binding is not None and _has_workers(binding)


class Job:
    """One job slot: :meth:`post` a compiled routine, :meth:`wait` for it, one job at a time.

    Use from one thread; check :func:`available` first.

    Parameters
    ----------
    binding : _Binding, optional
        The OpenBLAS functions to use (default: the proven binding; RuntimeError without one).

    Attributes
    ----------
    args : ndarray of int64, shape (16,)
        Where the caller packs the routine's arguments (addresses and sizes); the arrays they
        point into must stay alive, unchanged by the caller, until :meth:`wait` returns.
    pending : bool
        A job was posted and not yet waited for.
    """

    def __init__(self, binding: _Binding | None = None) -> None:
        binding = binding or _lookup()
        if binding is None:
            raise RuntimeError("no OpenBLAS worker binding here; check available() first")
        self._post_address, self._wait_address = binding.post, binding.wait
        self.queue = np.zeros(_QUEUE_WORDS, dtype=np.int64)
        self.args = np.zeros(_ARGS_WORDS, dtype=np.int64)
        self.pending = False

    def post(self, routine: int, args: np.ndarray) -> None:
        """Queue ``routine(args)`` (a C ``void (void *)``) for a worker; returns at once."""
        if self.pending:
            raise RuntimeError("a job is already pending on this slot")
        # Pending first: a signal is raised when the compiled call returns, and the job is
        # queued by then; a caller's ``finally: wait()`` must still wait for it.
        self.pending = True
        _post(self._post_address, self.queue, routine, args)

    def wait(self) -> None:
        """Return once the posted job is done (at once when none is pending)."""
        if self.pending:
            # Only while a job is pending: the wait polls the worker the job went to, and a
            # finished job's worker may already be running someone else's.  Cleared after:
            # a signal between the two leaves it set, and a second wait is only a poll.
            _wait(self._wait_address, self.queue)
            self.pending = False
