r"""The compiled (log-)softmax kernel: fused row passes and a vectorisable exp (numba).

Shape letters: a C-contiguous ``(N, d)`` matrix ``x`` whose rows are normalised, and an output
``out`` of the same shape and dtype (float32 or float64).  :mod:`nnbasics.core.activations` holds the
public functions, the plain NumPy reference these kernels are tested against, the +inf rows and
the split of the work into tasks; :mod:`nnbasics.accel.helper_thread` runs the tasks on two threads
through :func:`run_task` (at the end of this module); the loops that touch every entry live here.

Per row, a softmax makes three passes and a log-softmax three, each over data that is still in the
cache after the first (a row of ``d = 1024`` float32 is 4 KiB):

1. ``m = max(x)``;
2. softmax: ``out = exp(x - m)`` and ``s = sum(out)``;
   log-softmax: ``out = x - m`` and ``s = sum(exp(out))``;
3. softmax: ``out *= 1 / s``; log-softmax: ``out -= log(s)``.

Three things make those loops compile to 512-bit (or 256-bit) SIMD code instead of scalar code:

* **exp** is :func:`exp_nonpositive`, a range reduction and a polynomial written in plain
  arithmetic (numba has no vector exp of its own: without Intel's SVML ``math.exp`` is a scalar
  libm call).  Its error is below 1 ulp (measured over dense sweeps by the tests); denormal
  results are rounded once; ``exp(-inf) = 0`` and NaN stays NaN.
* **the max** is taken on integer *order keys* of the floats (a bijection onto signed integers
  that preserves the order of non-NaN floats), because LLVM vectorises an integer max reduction
  but not a float one that must keep IEEE comparison semantics.  A NaN with the sign bit clear
  has a key above +inf, so it becomes the "max" and the whole row turns NaN, as it should; one
  with the sign bit set sorts below -inf and is ignored by the max, but then ``exp(NaN)`` makes
  the sum NaN and the row NaN all the same.
* **the sum** is accumulated by :func:`_add_reassociable`, the only operation compiled with the
  ``reassoc`` fast-math flag, so LLVM may keep several partial sums in vector lanes.  Every other
  operation keeps strict IEEE semantics (only ``contract``, i.e. fused multiply-add, is allowed),
  so the range reduction of exp and the ``(x - m) - log(s)`` of log-softmax are computed exactly
  as written.  Partial sums of ``_SUM_BLOCK`` entries are added up in float64, so a float32 row
  of 10^6 entries sums as accurately as a short one.

The order of the partial sums is fixed by the compiled code, not by the data or by threads: the
kernels are deterministic, and the rows of a matrix are independent of how they are split.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic, overload

# Flags shared by the kernels.  ``error_model="numpy"``: a division by zero gives inf/NaN like
# NumPy instead of raising; ``fastmath={"contract"}``: fused multiply-add only (no reassociation,
# no assumption that NaN or inf are absent).
_JIT = {
    "nogil": True,
    "cache": True,
    "boundscheck": False,
    "error_model": "numpy",
    "fastmath": {"contract"},
}

_SUM_BLOCK = 1024  # entries summed in the input precision before the partial sum goes to float64

# ----------------------------------------------------------------------------------------------
# bit-level helpers (LLVM bitcasts, which vectorise)
# ----------------------------------------------------------------------------------------------


def _int_type_of(fty: types.Float) -> ir.IntType:
    return ir.IntType(32 if fty == types.float32 else 64)


@intrinsic
def _order_key(typingctx, value):
    """The float's bits as a signed integer, negative floats flipped so the order is kept.

    ``key(a) < key(b)`` exactly when ``a < b`` for non-NaN floats (with -0.0 just below +0.0);
    ``key(-inf)`` is above every key of a NaN with the sign bit set, ``key(+inf)`` below every key
    of a NaN with the sign bit clear.  The map is its own inverse on the bits.
    """
    if value not in (types.float32, types.float64):
        return None
    key_type = types.int32 if value == types.float32 else types.int64

    def codegen(context, builder, signature, args):
        ity = _int_type_of(value)
        bits = builder.bitcast(args[0], ity)
        sign_fill = builder.ashr(bits, ir.Constant(ity, ity.width - 1))  # 0 or all ones
        magnitude_mask = builder.lshr(sign_fill, ir.Constant(ity, 1))  # 0 or 0x7f...f
        return builder.xor(bits, magnitude_mask)

    return key_type(value), codegen


@intrinsic
def _from_order_key(typingctx, key):
    """Inverse of :func:`_order_key`: int32 keys give float32, int64 keys float64."""
    if key not in (types.int32, types.int64):
        return None
    float_type = types.float32 if key == types.int32 else types.float64

    def codegen(context, builder, signature, args):
        ity = _int_type_of(float_type)
        sign_fill = builder.ashr(args[0], ir.Constant(ity, ity.width - 1))
        bits = builder.xor(args[0], builder.lshr(sign_fill, ir.Constant(ity, 1)))
        return builder.bitcast(bits, context.get_value_type(float_type))

    return float_type(key), codegen


@intrinsic
def _scale_by_pow2(typingctx, y, shifted_n):
    """``y * 2**n``, where ``shifted_n = n + 1.5 * 2**(mantissa bits)`` holds n in its low bits.

    ``2**n`` is built from its bits in two halves, ``2**(n // 2) * 2**(n - n // 2)``, so that n
    down to about -2 * (max exponent) works: for a denormal result only the second product
    rounds, so the result is rounded once.
    """
    if y not in (types.float32, types.float64) or shifted_n != y:
        return None

    def codegen(context, builder, signature, args):
        ity = _int_type_of(y)
        single = y == types.float32
        magic = 0x4B400000 if single else 0x4338000000000000  # bits of 1.5 * 2**23 / 1.5 * 2**52
        bias, mantissa_bits = (127, 23) if single else (1023, 52)
        fty = context.get_value_type(y)
        n = builder.sub(builder.bitcast(args[1], ity), ir.Constant(ity, magic))
        n_low = builder.ashr(n, ir.Constant(ity, 1))
        n_high = builder.sub(n, n_low)

        def pow2(k):
            biased = builder.add(k, ir.Constant(ity, bias))
            return builder.bitcast(builder.shl(biased, ir.Constant(ity, mantissa_bits)), fty)

        return builder.fmul(builder.fmul(args[0], pow2(n_low)), pow2(n_high))

    return y(y, shifted_n), codegen


# ----------------------------------------------------------------------------------------------
# exp for t <= 0
# ----------------------------------------------------------------------------------------------

# exp(t) = 2**n * exp(r), n = round(t / ln 2), r = t - n ln 2 in [-ln2/2, ln2/2], with ln 2 split
# in a high part (n * high is exact) and a low part (Cody & Waite), and
# exp(r) = 1 + r + r**2 q(r), q a near-minimax (Chebyshev) fit of (exp(r) - 1 - r) / r**2 on
# [-0.348, 0.348] whose own error is 1.3e-17 (float64, degree 9) / 1.7e-10 (float32, degree 5),
# far below half an ulp.  Inputs below LOWEST (where exp underflows to 0 in that precision) are
# clamped to it, which keeps n in range and gives exp(-inf) = 0; the clamp lets NaN through.
_F64_Q = (
    2.510065503606659e-08,
    2.762043894863442e-07,
    2.755726789174553e-06,
    2.480152055701783e-05,
    0.0001984126986342035,
    0.0013888888917690603,
    0.008333333333329989,
    0.04166666666662317,
    0.16666666666666669,
    0.5000000000000001,
)
_F64_LN2_HIGH = 6.93147180369123816490e-01  # low 32 bits zero: n * high is exact for |n| < 2**20
_F64_LN2_LOW = 1.90821492927058770002e-10
_F64_LOWEST = -760.0  # exp(-745.2) is already below half the smallest denormal
_F64_SHIFTER = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer

_F32_Q = (
    0.0001989126903936267,
    0.0013933900045230985,
    0.00833331048488617,
    0.041666463017463684,
    0.1666666716337204,
    0.5,
)
_F32_LN2_HIGH = 0.693359375  # 355/512: n * high is exact in float32 for |n| < 2**15
_F32_LN2_LOW = -2.12194440e-4
_F32_LOWEST = -110.0  # exp(-103.98) is already below half the smallest float32 denormal
_F32_SHIFTER = 12582912.0  # 1.5 * 2**23


def exp_nonpositive(t):  # pragma: no cover - replaced by the overload below inside numba code
    """``exp(t)`` for ``t <= 0`` (also ``-inf`` and NaN), in t's precision; numba code only."""
    raise NotImplementedError("exp_nonpositive is only callable from numba-compiled code")


@overload(exp_nonpositive, jit_options={"fastmath": {"contract"}})
def _exp_nonpositive_impl(t):
    if t == types.float64:
        q0, q1, q2, q3, q4, q5, q6, q7, q8, q9 = _F64_Q
        log2e, ln2_high, ln2_low = 1.4426950408889634, _F64_LN2_HIGH, _F64_LN2_LOW
        lowest, shifter = _F64_LOWEST, _F64_SHIFTER

        def exp64(t):
            t = lowest if t < lowest else t  # NaN < lowest is False: NaN goes through
            shifted_n = t * log2e + shifter
            n = shifted_n - shifter
            r = (t - n * ln2_high) - n * ln2_low
            q = q0 * r + q1
            q = q * r + q2
            q = q * r + q3
            q = q * r + q4
            q = q * r + q5
            q = q * r + q6
            q = q * r + q7
            q = q * r + q8
            q = q * r + q9
            return _scale_by_pow2(1.0 + (r + r * r * q), shifted_n)

        return exp64
    if t == types.float32:
        f32 = np.float32
        q0, q1, q2, q3, q4, q5 = (f32(c) for c in _F32_Q)
        log2e, ln2_high, ln2_low = f32(1.4426950408889634), f32(_F32_LN2_HIGH), f32(_F32_LN2_LOW)
        lowest, shifter, one = f32(_F32_LOWEST), f32(_F32_SHIFTER), f32(1.0)

        def exp32(t):
            t = lowest if t < lowest else t
            shifted_n = t * log2e + shifter
            n = shifted_n - shifter
            r = (t - n * ln2_high) - n * ln2_low
            q = q0 * r + q1
            q = q * r + q2
            q = q * r + q3
            q = q * r + q4
            q = q * r + q5
            return _scale_by_pow2(one + (r + r * r * q), shifted_n)

        return exp32
    return None


# ----------------------------------------------------------------------------------------------
# the passes over one row (or a chunk of one) and the kernels built from them
# ----------------------------------------------------------------------------------------------


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _add_reassociable(total, value):
    """``total + value`` that LLVM may reorder: the one reassociable operation (see the top)."""
    return total + value


# The passes work on 1-D contiguous views (a row, or a chunk of one): LLVM vectorises those loops
# reliably, where the same loops written with 2-D indexing or a flag that selects storing inside
# the loop were measured 5-8x slower (scalar code).


@njit(**_JIT)
def _max_of(v):
    """``max(v)`` through order keys; NaN if ``v`` holds a NaN with the sign bit clear."""
    best = _order_key(v[0])
    for j in range(1, v.shape[0]):
        key = _order_key(v[j])
        best = key if key > best else best
    return _from_order_key(best)


@njit(**_JIT)
def _exp_store_sum_block(v, out, shift):
    partial = v.dtype.type(0.0)
    for j in range(v.shape[0]):
        e = exp_nonpositive(v[j] - shift)
        out[j] = e
        partial = _add_reassociable(partial, e)
    return partial


@njit(**_JIT)
def _shift_store_exp_sum_block(v, out, shift):
    partial = v.dtype.type(0.0)
    for j in range(v.shape[0]):
        t = v[j] - shift
        out[j] = t
        partial = _add_reassociable(partial, exp_nonpositive(t))
    return partial


@njit(**_JIT)
def _exp_sum_of(v, out, shift, store):
    """``sum(exp(v - shift))`` in float64, by blocks; ``out`` gets the exps if ``store``, else
    ``v - shift``.

    Each block of ``_SUM_BLOCK`` entries is summed in v's precision (in vector lanes), the block
    sums in float64.
    """
    total = 0.0
    width = v.shape[0]
    for start in range(0, width, _SUM_BLOCK):
        stop = min(start + _SUM_BLOCK, width)
        if store:
            total += _exp_store_sum_block(v[start:stop], out[start:stop], shift)
        else:
            total += _shift_store_exp_sum_block(v[start:stop], out[start:stop], shift)
    return total


@njit(**_JIT)
def _normalise(v, out, shift, total, log):
    """Pass 3: ``out = exp / total`` (softmax) or ``out = (v - shift) - log(total)``.

    Both work in place on what pass 2 stored in ``out``: reading ``v`` and writing ``out`` in one
    loop was measured 1.6x slower on float64 rows of 8 KiB, whose input and output addresses
    then share their low 12 bits (4K aliasing).
    """
    if log:
        log_total = v.dtype.type(math.log(total))
        for j in range(v.shape[0]):
            out[j] = out[j] - log_total
    else:
        # total >= 1 (the max entry contributes exp(0) = 1), so 1/total cannot overflow; a
        # multiply per entry instead of a division costs at most one more rounding.
        inverse = v.dtype.type(1.0 / total)
        for j in range(v.shape[0]):
            out[j] = out[j] * inverse


@njit(**_JIT)
def softmax_rows(x, out, row_max, first, last, log):
    """(log-)softmax of the rows ``first:last`` of ``x`` into ``out``; their maxima to ``row_max``.

    A row whose max is +inf comes out NaN here (inf - inf); the caller replaces those rows by the
    limit, using ``row_max``.  Returns True if there is such a row.  Rows narrower than
    ``NARROW_WIDTH`` go to :func:`_softmax_narrow_rows`.  Releases the GIL.
    """
    if x.shape[1] < NARROW_WIDTH:
        return _softmax_narrow_rows(x, out, row_max, first, last, log)
    any_posinf_max = False
    for i in range(first, last):
        shift = _max_of(x[i])
        row_max[i] = shift
        any_posinf_max |= shift == np.inf
        total = _exp_sum_of(x[i], out[i], shift, not log)
        _normalise(x[i], out[i], shift, total, log)
    return any_posinf_max


NARROW_WIDTH = 32  # rows narrower than this are computed a block of rows at a time
_NARROW_BLOCK = 2048  # entries per block of narrow rows (8-16 KiB: stays in the L1 cache)


@njit(**_JIT)
def _softmax_narrow_rows(x, out, row_max, first, last, log):
    """:func:`softmax_rows` for short rows (a 10-class batch), vectorised across rows.

    A loop over a row of 10 entries is too short for SIMD, so per block of rows: row maxima and
    ``t = x - max`` row by row (cheap scalar operations); one SIMD exp over the whole block, which
    is contiguous; then each row's sum and scaling.  Same operations as the wide path, except that
    a row's sum is accumulated left to right in float64.
    """
    width = x.shape[1]
    block_rows = max(1, _NARROW_BLOCK // width)
    exps = np.empty(block_rows * width, dtype=x.dtype)
    any_posinf_max = False
    for block_first in range(first, last, block_rows):
        block_last = min(block_first + block_rows, last)
        n = (block_last - block_first) * width
        shifted = out[block_first:block_last].reshape(n)  # t = x - max, written into out
        for i in range(block_first, block_last):
            shift = _max_of(x[i])
            row_max[i] = shift
            any_posinf_max |= shift == np.inf
            for j in range(width):
                out[i, j] = x[i, j] - shift
        _exp_into(shifted, exps[:n])
        for r in range(block_last - block_first):
            total = 0.0
            for j in range(width):
                total += exps[r * width + j]
            i = block_first + r
            if log:
                log_total = x.dtype.type(math.log(total))
                for j in range(width):
                    out[i, j] = out[i, j] - log_total
            else:
                inverse = x.dtype.type(1.0 / total)
                for j in range(width):
                    out[i, j] = exps[r * width + j] * inverse
    return any_posinf_max


@njit(**_JIT)
def _exp_into(t, out):
    for j in range(t.shape[0]):
        out[j] = exp_nonpositive(t[j])


@njit(**_JIT)
def chunk_max(v):
    """Max of a chunk ``v`` of one wide row, as in :func:`softmax_rows`."""
    return _max_of(v)


@njit(**_JIT)
def chunk_exp_sum(v, out, shift, log):
    """Pass 2 of :func:`softmax_rows` on a chunk ``v`` of one wide row: the sum of the exps."""
    return _exp_sum_of(v, out, shift, not log)


@njit(**_JIT)
def chunk_normalise(v, out, shift, total, log):
    """Pass 3 of :func:`softmax_rows` on a chunk ``v`` of one wide row (output chunk ``out``)."""
    _normalise(v, out, shift, total, log)


@njit(**_JIT)
def exp_array(t, out):
    """``out = exp(t)`` elementwise for a 1-D array of ``t <= 0``: the exp, exposed for tests."""
    _exp_into(t, out)


# ----------------------------------------------------------------------------------------------
# one task of a job, described by integers (run by the caller and the helper thread, no GIL)
# ----------------------------------------------------------------------------------------------

# A job is described by an int64 array ``job`` (the fields below) and a float64 array
# ``job_values`` (the row max and the sum, for the column-chunk passes of a wide row), so that the
# helper thread of :mod:`nnbasics.accel.helper_thread` can run its tasks in compiled code without
# taking the GIL.  The arrays a job reads and writes are given by address; the caller keeps them
# alive until the job is done.
JOB_STATE = 0  # (generation << 32) | index of the next unclaimed task (see _helper_thread)
JOB_DONE = 1  # tasks finished
JOB_KIND = 2  # one of the kinds below
JOB_FLOAT64 = 3  # 1: the arrays are float64, 0: float32
JOB_LOG = 4  # 1: log-softmax
JOB_N_TASKS = 5
JOB_STEP = 6  # rows per task (ROWS), or columns per chunk (the CHUNK_ kinds)
JOB_N_ROWS = 7  # rows of x and out (1 for the chunk kinds: the wide row)
JOB_WIDTH = 8
JOB_X = 9  # address of x, C-contiguous (n_rows, width)
JOB_OUT = 10  # address of out, same shape and dtype
JOB_AUX = 11  # ROWS: row maxima (n_rows,); CHUNK_MAX: chunk maxima; CHUNK_EXP_SUM: float64 sums
JOB_FIELDS = 12

KIND_ROWS = 0  # task t: softmax_rows on rows [t * step, (t + 1) * step)
KIND_CHUNK_MAX = 1  # task c: the max of chunk c of the wide row, to aux[c]
KIND_CHUNK_EXP_SUM = 2  # task c: chunk_exp_sum of chunk c (shift = job_values[0]), to aux[c]
KIND_CHUNK_NORMALISE = 3  # task c: chunk_normalise of chunk c (shift, total = job_values[0:2])


@intrinsic
def _pointer_to(typingctx, address, like):
    """The int64 ``address`` as a pointer to values of ``like``'s float type (for carray)."""
    if address != types.int64 or like not in (types.float32, types.float64):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return types.CPointer(like)(address, like), codegen


@njit(**_JIT)
def _run_task_typed(job, job_values, t, like):
    n_rows, width, step = job[JOB_N_ROWS], job[JOB_WIDTH], job[JOB_STEP]
    x = carray(_pointer_to(job[JOB_X], like), (n_rows, width))
    out = carray(_pointer_to(job[JOB_OUT], like), (n_rows, width))
    kind, log = job[JOB_KIND], job[JOB_LOG] != 0
    if kind == KIND_ROWS:
        row_max = carray(_pointer_to(job[JOB_AUX], like), (n_rows,))
        first = t * step
        softmax_rows(x, out, row_max, first, min(first + step, n_rows), log)
        return
    start = t * step
    v = x[0, start : min(start + step, width)]
    o = out[0, start : min(start + step, width)]
    shift = x.dtype.type(job_values[0])
    if kind == KIND_CHUNK_MAX:
        carray(_pointer_to(job[JOB_AUX], like), (job[JOB_N_TASKS],))[t] = _max_of(v)
    elif kind == KIND_CHUNK_EXP_SUM:
        sums = carray(_pointer_to(job[JOB_AUX], job_values[0]), (job[JOB_N_TASKS],))
        sums[t] = _exp_sum_of(v, o, shift, not log)
    else:
        _normalise(v, o, shift, job_values[1], log)


@njit(**_JIT)
def run_task(job, job_values, t):
    """Run task ``t`` of the job described by ``job`` / ``job_values`` (see the fields above)."""
    if job[JOB_FLOAT64] != 0:
        _run_task_typed(job, job_values, t, np.float64(0.0))
    else:
        _run_task_typed(job, job_values, t, np.float32(0.0))
