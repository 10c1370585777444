"""What every check shares: findings, calling learner code, comparing arrays, and the search for
the smallest failing input (edge cases first, then hypothesis, which shrinks what it finds)."""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CallResult",
    "Context",
    "Finding",
    "call",
    "close",
    "describe_exception",
    "first_failure",
    "jsonable",
    "match_mistake",
]

# Tolerances of "the same result": wide enough for float32 arithmetic, loops against vectorised
# code and eps-guarded logs, narrow enough that every catalogued mistake is far outside.
RTOL = 1e-4
ATOL = 1e-6


@dataclass
class Finding:
    """One thing the grader found.  ``severity`` is ``"fail"`` (a wrong result), ``"error"`` (the
    code raised, crashed or hung) or ``"note"`` (advice; the task still passes)."""

    code: str
    message: str
    input: Any = None
    expected: Any = None
    got: Any = None
    severity: str = "fail"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "input": jsonable(self.input),
            "expected": jsonable(self.expected),
            "got": jsonable(self.got),
        }


@dataclass
class Context:
    """What a check may use besides the learner's function: the module it lives in, the
    assignment's name and the size of the hypothesis search."""

    module: Any
    assignment: str
    max_examples: int = 40
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallResult:
    value: Any = None
    output: str = ""
    warnings: list[str] = field(default_factory=list)
    exception: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.exception is None


def call(fn: Callable, *args, **kwargs) -> CallResult:
    """Call learner code with its printed output and warnings captured and its exceptions caught
    (``SystemExit`` included: a learner's ``exit()`` is an error of the task, not of the grader)."""
    result = CallResult()
    buffer = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buffer):
        warnings.simplefilter("always")
        try:
            with np.errstate(all="warn"):
                result.value = fn(*args, **kwargs)
        except (Exception, SystemExit) as exc:  # any failure of learner code
            result.exception = exc
    result.output = buffer.getvalue()
    result.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result


def describe_exception(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def as_array(value: Any) -> np.ndarray | None:
    """``value`` as a float array, or ``None`` when it is not numeric (a string, ``None``...)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


def close(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL,
          shape: bool = True) -> bool:
    """``got`` equals ``expected`` within tolerance, NaN and infinities where they are, and (with
    ``shape``) with the same shape: a (1, D) answer to a (D,) question is wrong."""
    g, e = as_array(got), np.asarray(expected, dtype=np.float64)
    if g is None:
        return False
    if shape and g.shape != e.shape:
        return False
    if not shape and g.size != e.size:
        return False
    return bool(np.allclose(g.reshape(e.shape), e, rtol=rtol, atol=atol, equal_nan=True))


def match_mistake(got: Any, mistakes: dict[str, Callable[[], Any]], **tolerance) -> str | None:
    """The code of the first catalogued mistake whose output equals ``got``.  Each mistake is a
    function computing what that mistake returns; one that raises (its shapes do not fit this
    input) simply does not match."""
    for code, mistaken in mistakes.items():
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = mistaken()
        except Exception:  # the mistaken variant does not fit this input
            continue
        if expected is not None and close(got, expected, **tolerance):
            return code.split("#")[0]  # "code#2": a second way of making the same mistake
    return None


def first_failure(prop: Callable[[Any], Finding | None], edge_cases: Iterable[Any],
                  strategy: Any = None, max_examples: int = 40) -> Finding | None:
    """The finding of the first edge case that fails ``prop``, else of the smallest generated
    input that does (hypothesis ``find``: derandomized, no example database, shrunk), else None."""
    for case in edge_cases:
        finding = prop(case)
        if finding is not None:
            return finding
    if strategy is None or max_examples <= 0:
        return None
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    config = settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.generate, Phase.shrink],
                      suppress_health_check=list(HealthCheck))
    try:
        smallest = find(strategy, lambda case: prop(case) is not None, settings=config)
    except NoSuchExample:
        return None
    return prop(smallest)


def jsonable(value: Any, limit: int = 400) -> Any:
    """A JSON-safe picture of an input or output: arrays as nested lists (NaN and infinities as
    strings), large arrays summarised, unknown objects by their ``repr``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, np.ndarray):
        if value.size > limit:
            return f"<array of shape {value.shape}, dtype {value.dtype}>"
        if value.dtype.kind in "biuf":
            return jsonable(value.tolist())
        return repr(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return repr(value)[:200]
