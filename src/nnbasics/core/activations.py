"""Activation functions and their gradients, each forward beside its backward.

Shape letters: ``N`` rows of a batch, ``d`` entries of a row. Every function here is pure (arrays
in, arrays out, the input never mutated), works elementwise on arrays of any shape (softmax: along
``axis``), and keeps float32 as float32 and float64 as float64; any other input (ints, bools,
lists) is computed in float64.

Gradient convention (the CS224n one): a ``*_grad`` function takes the activation's *value*, not its
input.  ``sigmoid_grad(s)`` takes ``s = sigmoid(x)`` and returns ``sigmoid'(x) = s (1 - s)``;
``tanh_grad(t)`` takes ``t = tanh(x)``; ``relu_grad(r)`` takes ``r = relu(x)``.  The value carries
everything the derivative needs, so a backward pass keeps only the forward's output.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "log_softmax",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "tanh",
    "tanh_grad",
]

FloatArray = NDArray[np.floating]


def as_float_array(x: ArrayLike) -> FloatArray:
    """Return ``x`` as a float32 or float64 array without copying one that already is.

    float32/float64 arrays pass through untouched; every other dtype (int, bool, float16, lists) is
    converted to float64.  Complex input raises ``TypeError``.
    """
    arr = np.asarray(x)
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if np.iscomplexobj(arr):
        raise TypeError(f"expected real numbers, got complex array of dtype {arr.dtype}")
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"expected a numeric array, got dtype {arr.dtype}")
    return arr.astype(np.float64)


# ----------------------------------------------------------------------------------------------
# softmax and log-softmax
# ----------------------------------------------------------------------------------------------

# Shape letters of the internals below: a C-contiguous ``(N, d)`` matrix whose rows are normalised.
#
# Two implementations compute the same thing:
#
# * :func:`_softmax_reference`, the textbook NumPy formula (max; subtract; exp; sum; divide), the
#   readable definition that the tests hold the fast path to;
# * the compiled kernel of :mod:`nnbasics.accel.softmax_kernel` (numba), which fuses the passes over
#   each row while the row is in the cache and has its own vectorised exp; this module only
#   describes the work as a job of tasks (blocks of rows, or column chunks of one very wide row)
#   that :mod:`nnbasics.accel.helper_thread` runs on the calling thread and one helper thread, both in
#   compiled code without the GIL, and fixes up the rows that hold +inf.
#
# The kernel module is imported on the first call, so that ``import nnbasics`` does not pay for
# importing numba; its compiled code is cached on disk (``cache=True``), so only the very first
# call in a fresh environment compiles (a few seconds per dtype).
# Rows are handed to the threads in _TASKS_PER_THREAD tasks per thread (several, so that when the
# helper starts late, or not at all on a busy machine, the caller takes over its share), of at
# least _TASK_BYTES of input each.  A task is claimed by one compare-and-swap, so more tasks cost
# little; 8 per thread were measured 0-25% faster than 4 on 4096x1024 float32 (4 was the best
# when each task was a Python call).
_TASKS_PER_THREAD = 8
_TASK_BYTES = 1 << 18
_WIDE_ROW_BYTES = 1 << 20  # a row wider than this is split into column chunks ...
_WIDE_CHUNK_BYTES = 1 << 20  # ... of 1 MiB (measured: 20% faster than 256 KiB on 1x10^6)
_PARALLEL_MIN_BYTES = 1 << 19  # below 512 KiB the thread hand-off costs more than it saves
_CGROUP_CPU_LIMITS = (  # (quota file, period file or None): cgroup v2, then v1
    ("/sys/fs/cgroup/cpu.max", None),
    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
)


def _usable_cpus(limits: tuple[tuple[str, str | None], ...] = _CGROUP_CPU_LIMITS) -> int:
    """CPUs this process may keep busy: its affinity set, capped by a cgroup CPU quota.

    A container limited to one CPU's worth of time on a large host still sees all the host's
    CPUs in its affinity set; a helper thread there would only take time from the caller.
    """
    if hasattr(os, "sched_getaffinity"):
        n_cpus = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - not Linux
        n_cpus = os.cpu_count() or 1
    for quota_file, period_file in limits:
        try:
            with open(quota_file, encoding="ascii") as f:
                fields = f.read().split()
            if period_file is not None:
                with open(period_file, encoding="ascii") as f:
                    fields = fields[:1] + f.read().split()[:1]
            quota, period = fields[0], int(fields[1])
        except (OSError, ValueError, IndexError):
            continue
        if quota not in ("max", "-1") and period > 0:
            n_cpus = min(n_cpus, max(1, int(quota) // period))
        break
    return max(1, n_cpus)


_N_THREADS = min(2, _usable_cpus())  # threads working on one call, caller included


def _kernel() -> ModuleType:
    """The compiled kernel module, imported (and numba with it) on first use."""
    from nnbasics.accel import softmax_kernel as _softmax_kernel

    return _softmax_kernel


def _softmax_reference(rows: FloatArray, log: bool) -> FloatArray:
    """The plain NumPy (log-)softmax of each row of ``rows`` (N, d): the definition, unfused.

    ``shifted = x - max(x)``; ``softmax = exp(shifted) / sum(exp(shifted))``;
    ``log_softmax = shifted - log(sum(exp(shifted)))``.  Special rows as documented in
    :func:`softmax` (``x - max`` is NaN on an all ``-inf`` or a ``+inf`` row; the latter is fixed
    to its limit).  The compiled kernel must agree with this to a few ulp.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        row_max = rows.max(axis=1, keepdims=True)  # (N, 1)
        shifted = rows - row_max
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        out = shifted - np.log(sums) if log else exps / sums
    posinf_rows = np.isposinf(row_max[:, 0])
    if posinf_rows.any():
        _fix_posinf_rows(rows, out, posinf_rows, log)
    return out


def _run_job(fill: Callable[[NDArray[np.int64], NDArray[np.float64]], None]) -> None:
    """Run the tasks of the job that ``fill`` describes on the caller and the helper thread.

    The job's arrays (the fields of "one task of a job" in :mod:`nnbasics.accel.softmax_kernel`) are
    filled by ``fill(job, job_values)``; :mod:`nnbasics.accel.helper_thread` runs the tasks in compiled
    code on the calling thread and its helper thread, which claim them one at a time.
    """
    from nnbasics.accel import helper_thread as _helper_thread

    _helper_thread.run_job(fill, helper=_N_THREADS > 1)


def _softmax_rows_into(rows: FloatArray, out: FloatArray, row_max: FloatArray, log: bool) -> bool:
    """Compiled (log-)softmax of the rows of ``rows`` (N, d) into ``out``; maxima to ``row_max``.

    Rows go to the threads in tasks of consecutive rows; each row is computed by one call of the
    kernel from start to end, so the result does not depend on the split.  Returns True if a row
    max is +inf (those rows are to be fixed).
    """
    kernel = _kernel()
    n_rows = rows.shape[0]
    if rows.nbytes < _PARALLEL_MIN_BYTES:
        # The kernel reports +inf maxima itself: a NumPy reduction would add 10% to a 128x10 call.
        return bool(kernel.softmax_rows(rows, out, row_max, 0, n_rows, log))
    row_bytes = rows.shape[1] * rows.itemsize
    task_bytes = max(_TASK_BYTES, rows.nbytes // (_TASKS_PER_THREAD * _N_THREADS))
    task_rows = max(1, task_bytes // row_bytes)
    n_tasks = -(-n_rows // task_rows)

    def fill(job: NDArray[np.int64], job_values: NDArray[np.float64]) -> None:
        _fill_job(job, kernel.KIND_ROWS, rows, out, row_max, log, task_rows, n_tasks)

    _run_job(fill)
    return _any_posinf(row_max)


def _any_posinf(row_max: FloatArray) -> bool:
    # fmax skips NaN, so a NaN row cannot hide a +inf row; cheaper than isposinf on every row.
    return bool(np.fmax.reduce(row_max, axis=None) == np.inf)


def _fill_job(job: NDArray[np.int64], kind: int, x: FloatArray, out: FloatArray, aux: NDArray,
              log: bool, step: int, n_tasks: int) -> None:
    """Write into ``job`` the fields of a job on C-contiguous ``x`` (N, d) or (d,) and ``out``."""
    kernel = _kernel()
    job[kernel.JOB_KIND] = kind
    job[kernel.JOB_FLOAT64] = x.dtype == np.float64
    job[kernel.JOB_LOG] = log
    job[kernel.JOB_N_TASKS] = n_tasks
    job[kernel.JOB_STEP] = step
    job[kernel.JOB_N_ROWS] = x.shape[0] if x.ndim == 2 else 1
    job[kernel.JOB_WIDTH] = x.shape[-1]
    job[kernel.JOB_X] = x.ctypes.data
    job[kernel.JOB_OUT] = out.ctypes.data
    job[kernel.JOB_AUX] = aux.ctypes.data


def _softmax_wide_row_into(row: FloatArray, out: FloatArray, log: bool) -> FloatArray:
    """(log-)softmax of one row too wide for the cache, shape (d,), in column chunks.

    The kernel's three passes, each split into chunks that run in parallel: the chunk maxima
    (reduced to the row max); ``exp(x - max)`` and its sum per chunk (the sums added in chunk
    order, so the result is deterministic); the scaling.  Returns the row max.
    """
    kernel = _kernel()
    chunk = max(1, _WIDE_CHUNK_BYTES // row.itemsize)
    n_chunks = -(-row.shape[0] // chunk)
    chunk_max = np.empty(n_chunks, dtype=row.dtype)
    chunk_sum = np.empty(n_chunks, dtype=np.float64)

    def fill_pass(kind: int, aux: NDArray, *values: float) -> None:
        def fill(job: NDArray[np.int64], job_values: NDArray[np.float64]) -> None:
            _fill_job(job, kind, row, out, aux, log, chunk, n_chunks)
            job_values[: len(values)] = values

        _run_job(fill)

    fill_pass(kernel.KIND_CHUNK_MAX, chunk_max)
    # The max of the chunk maxima, taken as the kernel takes it (a NaN with the sign bit clear
    # wins).  Kept in the row's dtype, so that a float32 row is shifted by a float32 max.
    row_max = row.dtype.type(kernel.chunk_max(chunk_max))
    fill_pass(kernel.KIND_CHUNK_EXP_SUM, chunk_sum, row_max)
    total = float(chunk_sum.sum())  # NumPy's pairwise sum of the chunk sums: deterministic
    fill_pass(kernel.KIND_CHUNK_NORMALISE, chunk_sum, row_max, total)
    return row_max


def _fix_posinf_rows(x: FloatArray, out: FloatArray, rows: NDArray[np.bool_], log: bool) -> None:
    """Rows holding +inf: the limit of softmax, uniform over the +inf entries and 0 elsewhere."""
    sub = x[rows]
    is_inf = np.isposinf(sub)
    share = is_inf / is_inf.sum(axis=1, keepdims=True)
    # A NaN anywhere in the row still makes the whole row NaN.
    share[np.isnan(sub).any(axis=1)] = np.nan
    with np.errstate(divide="ignore"):
        out[rows] = np.log(share) if log else share


def _as_rows(x: ArrayLike, axis: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(arr, moved, rows)``: x as a float array, with ``axis`` moved last, and as (N, d) rows."""
    arr = as_float_array(x)
    if arr.ndim == 0:
        raise ValueError("softmax needs at least one axis; got a scalar")
    # The common case (normalising the last axis of a C-contiguous array) skips moveaxis and the
    # copy: on a 128x10 batch that overhead is a large part of the call.
    moved = arr if axis in (-1, arr.ndim - 1) else np.moveaxis(arr, axis, -1)
    rows = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1])  # (N, d), a view if possible
    return arr, moved, rows


def _softmax_impl(x: ArrayLike, axis: int, log: bool) -> FloatArray:
    arr, moved, rows = _as_rows(x, axis)
    if arr.size == 0:
        return np.empty_like(arr)
    out = np.empty_like(rows)
    n_rows, width = rows.shape
    if width * rows.itemsize > _WIDE_ROW_BYTES:
        row_max = np.array([_softmax_wide_row_into(rows[i], out[i], log) for i in range(n_rows)])
        any_posinf_max = _any_posinf(row_max)
    else:
        row_max = np.empty(n_rows, dtype=rows.dtype)
        any_posinf_max = _softmax_rows_into(rows, out, row_max, log)
    if any_posinf_max:
        _fix_posinf_rows(rows, out, np.isposinf(row_max), log)
    result = out.reshape(moved.shape)
    return result if moved is arr else np.moveaxis(result, -1, axis)


def softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Numerically stable softmax along ``axis``.

    ``softmax(x)[i] = exp(x[i] - max(x)) / sum_j exp(x[j] - max(x))``

    Parameters
    ----------
    x : array_like, shape (d,) or (N, d) or any shape
        Real scores (logits).  float32 stays float32, float64 stays float64, anything else is
        computed in float64.  Never modified.
    axis : int, default -1
        Axis along which the entries sum to 1 (for an N×d matrix, the default is row-wise).

    Returns
    -------
    p : ndarray, same shape and float dtype as ``x``
        Non-negative entries summing to 1 along ``axis``.

    Notes
    -----
    Softmax is invariant to adding a constant to every entry of a row,
    :math:`\mathrm{softmax}(x + c\mathbf{1}) = \mathrm{softmax}(x)`, since the factor
    :math:`e^{c}` cancels between numerator and denominator.  With :math:`c = -\max_j x_j` every
    exponent is :math:`\le 0`, so :math:`e^{x_i - \max x} \le 1` never overflows, and the largest
    entry contributes exactly :math:`e^0 = 1`, so the denominator lies in :math:`[1, d]` and never
    underflows to 0.

    Domain of the result, row by row:

    * finite rows (any magnitude, e.g. ``[1000, 1001]``, ``[-1e300, 0]``, ``[3e307, 3e307]``):
      a valid distribution, with no overflow, NaN or floating-point warning;
    * ``-inf`` entries get probability exactly 0; a row that is all ``-inf`` has no distribution and
      gives a row of NaN;
    * ``+inf`` entries: the limit, probability shared equally among the ``+inf`` entries and 0
      elsewhere;
    * a row holding a NaN gives a row of NaN.

    No warning is emitted in any of these cases.

    The gradient (Jacobian-vector product) is
    :math:`\partial L/\partial x = p \odot (g - \langle g, p\rangle)` for upstream gradient
    :math:`g`; with cross-entropy it fuses to :math:`p - y` (see :mod:`nnbasics.core.losses`).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1000.0, 1001.0], [1.0, 2.0]])
    >>> p = softmax(x)
    >>> bool(np.allclose(p[0], p[1])), bool(np.allclose(p.sum(axis=1), 1.0))
    (True, True)
    """
    return _softmax_impl(x, axis, log=False)


def log_softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Numerically stable log of the softmax along ``axis``.

    ``log_softmax(x)[i] = (x[i] - max(x)) - log(sum_j exp(x[j] - max(x)))``

    Parameters
    ----------
    x : array_like, any shape with at least one axis
        Real scores; float32/float64 preserved, anything else in float64.  Never modified.
    axis : int, default -1
        Axis of normalisation.

    Returns
    -------
    logp : ndarray, same shape and dtype as ``x``
        Entries :math:`\le 0`, with :math:`\log\sum_i e^{\mathrm{logp}_i} = 0` along ``axis``.

    Notes
    -----
    This is :math:`x - \operatorname{logsumexp}(x)` with the log-sum-exp computed around the row
    maximum.  It is *not* ``log(softmax(x))``: a probability that underflows to 0 would give
    ``-inf`` there, whereas the log-domain value stays finite (``log_softmax([0, -1000])[1] =
    -1000``).  Non-finite rows behave as in :func:`softmax`: ``-inf`` entries give ``-inf``, a row
    all ``-inf`` or holding NaN gives NaN, ``+inf`` entries share the mass (``log(1/k)``) and the
    other entries give ``-inf``.  The gradient is :math:`g - \mathrm{softmax}(x) \sum_j g_j`.

    Examples
    --------
    >>> import numpy as np
    >>> float(log_softmax(np.array([0.0, -1000.0]))[1])
    -1000.0
    """
    return _softmax_impl(x, axis, log=True)


# ----------------------------------------------------------------------------------------------
# sigmoid
# ----------------------------------------------------------------------------------------------


def sigmoid(x: ArrayLike) -> FloatArray:
    r"""Logistic sigmoid, elementwise, with no overflow for any input.

    ``sigmoid(x) = 1 / (1 + exp(-x))``

    Parameters
    ----------
    x : array_like, any shape
        Real input; float32/float64 preserved, anything else in float64.

    Returns
    -------
    s : ndarray, same shape and dtype as ``x``, entries in [0, 1]

    Notes
    -----
    Computed from :math:`z = e^{-|x|} \in (0, 1]`, which cannot overflow:
    :math:`\sigma(x) = 1/(1+z)` for :math:`x \ge 0` and :math:`\sigma(x) = z/(1+z)` for
    :math:`x < 0`.  The second form keeps full relative precision for very negative inputs
    (:math:`\sigma(-40) \approx 4.2\times10^{-18}`, not 0).  ``sigmoid(±inf)`` is 1 / 0 and NaN
    stays NaN.  Its derivative is :func:`sigmoid_grad` of the value.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    >>> bool(np.allclose(sigmoid(-x), 1 - sigmoid(x)))
    True
    """
    arr = as_float_array(x)
    with np.errstate(under="ignore"):  # exp(-|x|) -> 0 for |x| > ~745 is the right answer
        z = np.exp(-np.abs(arr))  # in (0, 1]: no overflow possible
    return np.where(arr >= 0, 1.0, z) / (1.0 + z)


def sigmoid_grad(s: ArrayLike) -> FloatArray:
    r"""Derivative of the sigmoid, given the sigmoid's *value* ``s = sigmoid(x)``.

    ``sigmoid_grad(s) = s * (1 - s)``, which equals :math:`\sigma'(x)`.

    Parameters
    ----------
    s : array_like, any shape, entries in [0, 1]
        The output of :func:`sigmoid` (not its input).

    Returns
    -------
    ds : ndarray, same shape and dtype as ``s``, entries in [0, 1/4]

    Notes
    -----
    :math:`\sigma'(x) = e^{-x}/(1+e^{-x})^2 = \sigma(x)\,(1-\sigma(x))`.  The maximum, 1/4 at
    :math:`x = 0`, is why deep sigmoid stacks shrink gradients layer by layer.

    Examples
    --------
    >>> float(sigmoid_grad(sigmoid(0.0)))
    0.25
    """
    arr = as_float_array(s)
    return arr * (1 - arr)


# ----------------------------------------------------------------------------------------------
# tanh
# ----------------------------------------------------------------------------------------------


def tanh(x: ArrayLike) -> FloatArray:
    r"""Hyperbolic tangent, elementwise; never overflows (``tanh(±1000) = ±1``).

    ``tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)) = 2 sigmoid(2x) - 1``

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    t : ndarray, same shape and dtype as ``x``, entries in [-1, 1]

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-5, 5, 11)
    >>> bool(np.allclose(tanh(x), 2 * sigmoid(2 * x) - 1))
    True
    """
    return np.tanh(as_float_array(x))


def tanh_grad(t: ArrayLike) -> FloatArray:
    r"""Derivative of tanh, given tanh's *value* ``t = tanh(x)``.

    ``tanh_grad(t) = 1 - t**2``, which equals :math:`\tanh'(x)`.

    Parameters
    ----------
    t : array_like, any shape, entries in [-1, 1]
        The output of :func:`tanh`.

    Returns
    -------
    dt : ndarray, same shape and dtype as ``t``, entries in [0, 1]

    Notes
    -----
    :math:`\tanh' = 1/\cosh^2 = 1 - \tanh^2`; its maximum is 1 at 0, four times the sigmoid's.
    """
    arr = as_float_array(t)
    return 1 - arr * arr


# ----------------------------------------------------------------------------------------------
# ReLU
# ----------------------------------------------------------------------------------------------


def relu(x: ArrayLike) -> FloatArray:
    r"""Rectified linear unit, elementwise: ``relu(x) = max(x, 0)``.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    r : ndarray, same shape and dtype as ``x``, entries >= 0 (NaN stays NaN)
    """
    arr = as_float_array(x)
    return np.maximum(arr, 0, dtype=arr.dtype)


def relu_grad(r: ArrayLike) -> FloatArray:
    r"""Derivative of ReLU, given ReLU's *value* ``r = relu(x)``.

    ``relu_grad(r) = 1 where r > 0 else 0``

    Parameters
    ----------
    r : array_like, any shape
        The output of :func:`relu` (``r > 0`` exactly where ``x > 0``, so the value suffices).

    Returns
    -------
    dr : ndarray of 0.0 and 1.0, same shape and dtype as ``r``

    Notes
    -----
    ReLU is not differentiable at 0; the convention here, as in JAX and PyTorch, is
    :math:`\mathrm{ReLU}'(0) = 0`.
    """
    arr = as_float_array(r)
    return (arr > 0).astype(arr.dtype)


#: Activations by name, with the derivative of each expressed on its *value*.  scikit-learn's
#: ``logistic`` is an alias of ``sigmoid``.
ACTIVATIONS = {"sigmoid": sigmoid, "logistic": sigmoid, "tanh": tanh, "relu": relu}
DERIVATIVES = {
    "sigmoid": sigmoid_grad,
    "logistic": sigmoid_grad,
    "tanh": tanh_grad,
    "relu": relu_grad,
}
