r"""``C <- alpha op(A) op(B) + beta C`` in place, through SciPy's documented BLAS interface.

``np.matmul(A, B, out=C)`` can only *overwrite* ``C``.  A plain SGD step on a weight matrix,
``W <- W - lr a^T delta``, then costs a product into a gradient buffer and a pass reading ``W``
and the gradient and writing ``W``.  BLAS's ``gemm`` accumulates into ``C`` while it computes the
product (``alpha = -lr, beta = 1``), so the update costs nothing extra.

The routine is the Fortran ``sgemm`` / ``dgemm`` that SciPy exports for compiled code in
:mod:`scipy.linalg.cython_blas` (the interface scikit-learn's ``_cython_blas.pyx`` uses), found
with numba's documented ``numba.extending.get_cython_function_address`` and called from a compiled
function: a call costs little more than the product, where ``scipy.linalg.blas.sgemm``
checks and converts its arguments in Python on every call.  Row-major
(C-ordered) arrays are column-major arrays of the transposed shape, so ``C = op(A) op(B)`` is
computed as the column-major ``C^T = op(B)^T op(A)^T``.

Which library that is, is SciPy's business, and it matters for one reason: NumPy's and SciPy's
pip wheels each bundle their own OpenBLAS, each with its own threads, which keep spinning for a
while after a product and take a core from the other library's next products.  A training step
started right after NumPy's products (another library's fit, say) ran ~3x slower with its products
in SciPy's library (``benchmarks/RESULTS.md``).  So :func:`gemm_unchecked`, the GEMM of the
training step, is SciPy's only where SciPy and NumPy share one BLAS library
(:func:`shares_numpys_blas`); elsewhere it is :func:`numpy_gemm`, NumPy's ``matmul`` (the update
then takes a second pass, as without SciPy).
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import get_cython_function_address, intrinsic, overload

__all__ = [
    "available",
    "gemm_inplace",
    "gemm_unchecked",
    "numpy_gemm",
    "shares_numpys_blas",
]

_INT32_MAX = 2**31 - 1
_NAMES = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}


@functools.cache
def _address(dtype: np.dtype) -> int:
    """Address of SciPy's ``?gemm`` for ``dtype`` (0 when SciPy, or the routine, is missing)."""
    try:
        return get_cython_function_address("scipy.linalg.cython_blas", _NAMES[dtype])
    except (ImportError, ValueError):  # no SciPy, or one without the routine
        return 0


@intrinsic
def _call_gemm(typingctx, address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
               ldc):
    """Call the Fortran-convention ``?gemm`` at ``address`` (an integer).

    Every Fortran argument is passed by pointer: the scalars (transpose flags as bytes, sizes as
    32-bit ``int``, ``alpha``/``beta`` in the arrays' precision) are stored on the stack and their
    addresses passed; ``a``, ``b`` and ``c`` arrive as integer addresses of the arrays' data.
    """
    sig = types.void(address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        pointer = ir.IntType(8).as_pointer()
        passed = []
        for position, (ty, value) in enumerate(zip(signature.args[1:], args[1:], strict=True)):
            if position in (6, 8, 11):  # a, b, c: addresses
                passed.append(builder.inttoptr(value, pointer))
            else:  # a scalar: its address
                slot = builder.alloca(context.get_value_type(ty))
                builder.store(value, slot)
                passed.append(builder.bitcast(slot, pointer))
        function_type = ir.FunctionType(ir.VoidType(), [pointer] * 13)
        builder.call(builder.inttoptr(args[0], function_type.as_pointer()), passed)
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, cache=True)
def _is_c_contiguous(M):
    itemsize = M.itemsize
    return M.size == 0 or not ((M.shape[1] > 1 and M.strides[1] != itemsize)
                               or (M.shape[0] > 1 and M.strides[0] != M.shape[1] * itemsize))


@njit(nogil=True, cache=True)
def _overlaps(M, C):
    start, c_start = M.ctypes.data, C.ctypes.data
    return M.size > 0 and start < c_start + C.nbytes and c_start < start + M.nbytes


def _of_dtype(x, M):  # pragma: no cover - replaced by the overload below inside numba code
    """Whether the scalar ``x`` has the dtype of the array ``M`` (a compile-time constant)."""
    raise NotImplementedError


@overload(_of_dtype)
def _of_dtype_impl(x, M):
    same = x == M.dtype
    return lambda x, M: same


_N, _T = np.int8(ord("N")), np.int8(ord("T"))


@njit(nogil=True, cache=True)
def _gemm_kernel(address, trans_a, trans_b, alpha, A, B, beta, C):
    # Checks first: a wrong size or stride here would make BLAS read or write out of bounds,
    # a float64 alpha for sgemm would be read as a float32.
    if not (_of_dtype(alpha, A) and _of_dtype(beta, A) and A.dtype == B.dtype == C.dtype):
        raise TypeError("gemm: alpha, beta, A, B and C must have one dtype")
    if not (_is_c_contiguous(A) and _is_c_contiguous(B) and _is_c_contiguous(C)):
        raise ValueError("gemm: A, B and C must be C-contiguous")
    m, n = C.shape
    k = A.shape[0] if trans_a else A.shape[1]
    rows_a = A.shape[1] if trans_a else A.shape[0]
    rows_b, cols_b = (B.shape[1], B.shape[0]) if trans_b else (B.shape[0], B.shape[1])
    if rows_a != m or cols_b != n or rows_b != k:
        raise ValueError("gemm: op(A) @ op(B) does not have C's shape")
    if m == 0 or n == 0:
        return
    if _overlaps(A, C) or _overlaps(B, C):
        raise ValueError("gemm: C must not overlap A or B")
    # column-major C^T (n, m) = op(B)^T (n, k) op(A)^T (k, m); leading dimensions >= 1
    _call_gemm(address, _T if trans_b else _N, _T if trans_a else _N,
               np.int32(n), np.int32(m), np.int32(k), alpha,
               B.ctypes.data, np.int32(max(1, B.shape[1])),
               A.ctypes.data, np.int32(max(1, A.shape[1])), beta,
               C.ctypes.data, np.int32(max(1, n)))


def available(dtype: np.dtype | type) -> bool:
    """Whether :func:`gemm_inplace` can run for ``dtype`` (float32 or float64, with SciPy)."""
    dtype = np.dtype(dtype)
    return dtype in _NAMES and _address(dtype) != 0


@functools.cache
def shares_numpys_blas() -> bool:
    """Whether SciPy's BLAS is the library NumPy calls: once both are loaded, threadpoolctl's
    ``threadpool_info()`` lists a single BLAS library (not so with the pip wheels, which bundle
    one each)."""
    if not available(np.float64):
        return False
    from threadpoolctl import threadpool_info

    return len({info["filepath"] for info in threadpool_info() if info["user_api"] == "blas"}) == 1


@functools.cache
def gemm_unchecked(dtype: np.dtype | type):
    """``gemm(trans_a, trans_b, alpha, A, B, beta, C)`` for the products of a training step on
    arrays of ``dtype``, without the Python-side checks of :func:`gemm_inplace` (the compiled
    ones on shapes, strides and overlap stay): for a loop that checked its operands once.
    ``alpha`` and ``beta`` must already be of ``dtype``'s scalar type, and every size below 2**31.

    SciPy's ``?gemm`` where :func:`shares_numpys_blas`, else :func:`numpy_gemm` (the module
    docstring says why): the same result up to rounding.
    """
    dtype = np.dtype(dtype)
    if not (available(dtype) and shares_numpys_blas()):
        return numpy_gemm
    return functools.partial(_gemm_kernel, _address(dtype))


def numpy_gemm(trans_a: bool, trans_b: bool, alpha, A: np.ndarray, B: np.ndarray, beta,
               C: np.ndarray) -> None:
    """What the compiled ``gemm`` computes, in NumPy: ``C <- alpha op(A) op(B) + beta C``
    (``np.matmul`` into ``C`` when ``alpha = 1, beta = 0``, else through a temporary)."""
    left, right = (A.T if trans_a else A), (B.T if trans_b else B)
    if alpha == 1 and beta == 0:
        np.matmul(left, right, out=C)
        return
    product = np.matmul(left, right)
    product *= alpha
    if beta == 0:  # BLAS does not read C then (a NaN there does not propagate)
        C[...] = product
    else:
        C *= beta
        C += product


def gemm_inplace(alpha: float, A: np.ndarray, B: np.ndarray, beta: float, C: np.ndarray,
         trans_a: bool = False, trans_b: bool = False) -> None:
    r"""``C <- alpha op(A) op(B) + beta C`` in place, with ``op(M) = M^T`` when asked.

    Parameters
    ----------
    alpha, beta : float
    A, B : ndarray, 2-D, C-contiguous, of ``C``'s dtype
        ``op(A)`` is (m, k) and ``op(B)`` (k, n).
    C : ndarray (m, n), C-contiguous, float32 or float64
        Updated in place.  Must not overlap ``A`` or ``B``.
    trans_a, trans_b : bool, default False
        Use the transpose of ``A`` / ``B``.

    Raises
    ------
    ValueError
        Shapes that do not chain, arrays that are not C-contiguous, ``C`` read-only or
        overlapping an operand, sizes of 2**31 or more (BLAS's 32-bit integers).
    TypeError
        Arguments that are not 2-D float32/float64 arrays of one dtype.
    RuntimeError
        No BLAS (check :func:`available` first).

    Notes
    -----
    With ``k = 0`` the product is empty and ``C <- beta C``, as BLAS defines it.
    """
    if not all(isinstance(M, np.ndarray) for M in (A, B, C)):
        raise TypeError("A, B and C must be NumPy arrays")
    if not (A.dtype == B.dtype == C.dtype and A.ndim == B.ndim == C.ndim == 2
            and C.dtype in _NAMES):
        raise TypeError(f"A, B and C must be 2-D float32 or float64 arrays of one dtype, got "
                        f"{A.dtype} {A.shape}, {B.dtype} {B.shape}, {C.dtype} {C.shape}")
    if not C.flags.writeable:
        raise ValueError("C is read-only")
    if max(*A.shape, *B.shape) > _INT32_MAX:
        raise ValueError(f"dimensions above {_INT32_MAX} do not fit BLAS's 32-bit integers")
    if not available(C.dtype):
        raise RuntimeError(f"no BLAS gemm for {C.dtype} (SciPy missing?); check available()")
    real = C.dtype.type
    _gemm_kernel(_address(C.dtype), bool(trans_a), bool(trans_b), real(alpha), A, B, real(beta),
                 C)
