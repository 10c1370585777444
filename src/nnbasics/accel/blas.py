r"""``C <- alpha op(A) op(B) + beta C`` in place: the GEMM that NumPy uses, called directly.

``np.matmul(A, B, out=C)`` can only *overwrite* ``C``.  A plain SGD step on a weight matrix,
``W <- W - lr a^T delta``, then costs a GEMM into a gradient buffer plus a pass reading ``W`` and
the gradient and writing ``W``; on the 784×256 first layer of a small MLP that pass is ~7% of a
training epoch (``benchmarks/RESULTS.md``).  BLAS's ``gemm`` accumulates into ``C`` while it
computes the product (``beta = 1, alpha = -lr``), so the update costs nothing extra.

:func:`gemm_inplace` calls the ``cblas_?gemm`` of the BLAS library **NumPy itself is linked
to**, found with ``threadpoolctl`` (which scikit-learn also uses), from a small compiled function:
a call costs ~2-3 µs of overhead instead of ~12 µs through ``ctypes`` (the training loop makes
one per layer and batch).  Using NumPy's library, not SciPy's, matters: the two are separate
OpenBLAS copies with separate thread pools, and alternating calls between them on a 2-core
machine made a training epoch ~5× slower (measured: each pool's workers keep spinning for a while
after a call and take the cores from the other's).

The binding is used only when it is unambiguous and proven on first use:

* the symbol's integer width must be known from its name: ``scipy_cblas_?gemm64_`` /
  ``cblas_?gemm64_`` take 64-bit integers (ILP64, NumPy's own wheels), ``scipy_cblas_?gemm`` 32-bit
  ones (LP64); a bare ``cblas_?gemm`` could be either and is not used;
* a small product with a transposed operand and ``beta != 0`` is computed through it and compared
  with NumPy's result before the binding is trusted.

Otherwise :func:`available` is False and callers take their NumPy path (a product into a buffer
plus an update pass): the same arithmetic up to rounding.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["available", "gemm_inplace", "gemm_unchecked"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# (symbol template, 64-bit integers?): the name says how wide the integer arguments are
_SYMBOLS = (
    ("scipy_cblas_{}gemm64_", True),
    ("cblas_{}gemm64_", True),
    ("scipy_cblas_{}gemm", False),
)
_LETTERS = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}
_INT32_MAX = 2**31 - 1

_lock = threading.Lock()
# dtype -> (function address, 64-bit integers?); None until looked up
_functions: dict[np.dtype, tuple[int, bool]] | None = None


@intrinsic
def _call_cblas_gemm(typingctx, address, order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                     beta, c, ldc):
    """Call the ``cblas_?gemm`` at ``address`` (an integer) with the other arguments as given.

    The C prototype is taken from the argument types: ``order``/``trans`` as C ints, the sizes
    as int32 or int64 (whichever the caller passes), ``alpha``/``beta`` as float or double, the
    array addresses (integers) as pointers.
    """
    sig = types.void(address, order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                     ldc)

    def codegen(context, builder, signature, args):
        pointer = ir.IntType(8).as_pointer()
        arg_types, values = [], []
        for position, (ty, value) in enumerate(zip(signature.args[1:], args[1:], strict=True)):
            if position in (7, 9, 12):  # the three array addresses
                arg_types.append(pointer)
                values.append(builder.inttoptr(value, pointer))
            else:
                arg_types.append(context.get_value_type(ty))
                values.append(value)
        function_type = ir.FunctionType(ir.VoidType(), arg_types)
        builder.call(builder.inttoptr(args[0], function_type.as_pointer()), values)
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


@njit(nogil=True, cache=True)
def _gemm_kernel(address, wide, trans_a, trans_b, alpha, A, B, beta, C):
    # Checks first: a wrong size or stride here would make BLAS read or write out of bounds.
    if not (_is_c_contiguous(A) and _is_c_contiguous(B) and _is_c_contiguous(C)):
        raise ValueError("gemm_inplace: A, B and C must be C-contiguous")
    m, n = C.shape
    k = A.shape[0] if trans_a else A.shape[1]
    rows_a = A.shape[1] if trans_a else A.shape[0]
    rows_b, cols_b = (B.shape[1], B.shape[0]) if trans_b else (B.shape[0], B.shape[1])
    if rows_a != m or cols_b != n or rows_b != k:
        raise ValueError("gemm_inplace: op(A) @ op(B) does not have C's shape")
    if m == 0 or n == 0:
        return
    if _overlaps(A, C) or _overlaps(B, C):
        raise ValueError("gemm_inplace: C must not overlap A or B")
    order = np.int32(_ROW_MAJOR)
    op_a = np.int32(_TRANS if trans_a else _NO_TRANS)
    op_b = np.int32(_TRANS if trans_b else _NO_TRANS)
    # leading dimensions: the row lengths, at least 1 as BLAS requires
    lda, ldb, ldc = max(1, A.shape[1]), max(1, B.shape[1]), max(1, n)
    if wide:
        _call_cblas_gemm(address, order, op_a, op_b, np.int64(m), np.int64(n), np.int64(k), alpha,
                         A.ctypes.data, np.int64(lda), B.ctypes.data, np.int64(ldb), beta,
                         C.ctypes.data, np.int64(ldc))
    else:
        _call_cblas_gemm(address, order, op_a, op_b, np.int32(m), np.int32(n), np.int32(k), alpha,
                         A.ctypes.data, np.int32(lda), B.ctypes.data, np.int32(ldb), beta,
                         C.ctypes.data, np.int32(ldc))


@functools.cache
def _numpy_blas_paths() -> tuple[str, ...]:
    """File paths of the BLAS libraries loaded in this process that belong to NumPy (looked up
    once: NumPy loads its BLAS when it is imported)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return ()
    numpy_libs = os.path.join(
        os.path.dirname(os.path.dirname(os.path.realpath(np.__file__))), "numpy.libs"
    )
    # NumPy's wheels keep their BLAS in site-packages/numpy.libs; SciPy's (a different copy,
    # with its own threads) lives in scipy.libs and is not used
    return tuple(
        os.path.realpath(info["filepath"]) for info in threadpool_info()
        if info.get("user_api") == "blas"
        and os.path.dirname(os.path.realpath(info.get("filepath", ""))) == numpy_libs
    )


def _bind(path: str, dtype: np.dtype) -> tuple[int, bool] | None:
    """``(address, 64-bit integers?)`` of ``cblas_?gemm`` for ``dtype`` in the library, or None."""
    try:
        library = ctypes.CDLL(path)  # already loaded by NumPy: this only looks it up
    except OSError:  # pragma: no cover - depends on the machine
        return None
    for template, wide in _SYMBOLS:
        function = getattr(library, template.format(_LETTERS[dtype]), None)
        if function is not None:
            return ctypes.cast(function, ctypes.c_void_p).value, wide
    return None


def _self_test(bound: tuple[int, bool], dtype: np.dtype) -> bool:
    """Whether the bound function computes ``C <- alpha A^T B + beta C`` as NumPy does."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 3)).astype(dtype)
    B = rng.standard_normal((5, 4)).astype(dtype)
    C = rng.standard_normal((3, 4)).astype(dtype)
    expected = -0.5 * (A.T @ B) + 0.25 * C
    real = dtype.type
    _gemm_kernel(bound[0], bound[1], True, False, real(-0.5), A, B, real(0.25), C)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    return bool(np.allclose(C, expected, rtol=tol, atol=tol))


def _lookup() -> dict[np.dtype, tuple[int, bool]]:
    global _functions
    with _lock:
        if _functions is None:
            found = {}
            for path in _numpy_blas_paths():
                for dtype in _LETTERS:
                    if dtype not in found and (bound := _bind(path, dtype)) is not None \
                            and _self_test(bound, dtype):
                        found[dtype] = bound
            _functions = found
        return _functions


def available(dtype: np.dtype | type) -> bool:
    """Whether :func:`gemm_inplace` can run for arrays of ``dtype`` (float32 or float64)."""
    return np.dtype(dtype) in _lookup()


def gemm_unchecked(dtype: np.dtype) -> Callable[..., None]:
    """``gemm(trans_a, trans_b, alpha, A, B, beta, C)`` for arrays of ``dtype``, without the
    Python-side checks of :func:`gemm_inplace` (the compiled ones on shapes, strides and overlap
    stay): for a loop that checked its operands once.  ``alpha`` and ``beta`` must already be
    of ``dtype``'s scalar type.  RuntimeError if :func:`available` is false for ``dtype``.
    """
    dtype = np.dtype(dtype)
    gemm = _unchecked.get(dtype)
    if gemm is None:
        bound = _lookup().get(dtype)
        if bound is None:
            raise RuntimeError(f"no BLAS gemm binding for {dtype}; check available() first")
        gemm = _unchecked[dtype] = functools.partial(_gemm_kernel, *bound)
    return gemm


_unchecked: dict[np.dtype, Callable[..., None]] = {}


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
        overlapping an operand, sizes beyond a 32-bit BLAS's integers.
    TypeError
        Arguments that are not 2-D float32/float64 arrays of one dtype.
    RuntimeError
        No usable binding (check :func:`available` first).

    Notes
    -----
    With ``k = 0`` the product is empty and ``C <- beta C``, as BLAS defines it.
    """
    if not all(isinstance(M, np.ndarray) for M in (A, B, C)):
        raise TypeError("A, B and C must be NumPy arrays")
    if not (A.dtype == B.dtype == C.dtype and A.ndim == B.ndim == C.ndim == 2
            and C.dtype in _LETTERS):
        raise TypeError(f"A, B and C must be 2-D float32 or float64 arrays of one dtype, got "
                        f"{A.dtype} {A.shape}, {B.dtype} {B.shape}, {C.dtype} {C.shape}")
    if not C.flags.writeable:
        raise ValueError("C is read-only")
    bound = _lookup().get(C.dtype)
    if bound is None:
        raise RuntimeError(f"no BLAS gemm binding for {C.dtype}; check available() first")
    if not bound[1] and max(*A.shape, *B.shape) > _INT32_MAX:
        raise ValueError(f"dimensions above {_INT32_MAX} need a 64-bit-integer BLAS")
    real = C.dtype.type
    _gemm_kernel(bound[0], bound[1], bool(trans_a), bool(trans_b), real(alpha), A, B, real(beta),
                 C)
