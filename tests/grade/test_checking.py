"""The machinery of the checks: comparison with tolerance and shape, the search that reports the
smallest failing input, and JSON pictures of inputs and outputs."""

from __future__ import annotations

import numpy as np

from nnbasics.grade.tasks.basics import _array_strategy
from nnbasics.grade.tasks.checking import Finding, call, close, first_failure, jsonable


def test_close_accepts_float32_and_rejects_a_row_for_a_vector():
    expected = np.array([0.2, 0.3, 0.5])
    assert close(expected.astype(np.float32), expected)
    assert not close(expected[None, :], expected)
    assert close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert not close("text", expected) and not close(None, expected)


def test_the_failing_input_reported_is_shrunk():
    # a "learner function" wrong only on vectors of 4 or more entries holding a value above 5
    def prop(x):
        if x.size >= 4 and x.max() > 5:
            return Finding("wrong-value", "wrong", input=x)
        return None

    found = first_failure(prop, [], _array_strategy(-1000, 1000, vector=True, matrix=False),
                          max_examples=200)
    assert found is not None
    assert found.input.shape == (4,)  # the fewest entries that fail
    assert found.input.max() <= 6.0  # and the simplest value above 5


def test_edge_cases_come_before_generated_inputs():
    seen = []

    def prop(x):
        seen.append(x)
        return Finding("wrong-value", "wrong", input=x)

    assert first_failure(prop, ["edge"], _array_strategy(0, 1, True, True)).input == "edge"
    assert seen == ["edge"]


def test_call_captures_prints_warnings_and_exits():
    def noisy(x):
        print("hello")
        return np.exp(np.array([x]))

    r = call(noisy, 1000.0)
    assert r.ok and r.output == "hello\n" and any("overflow" in w for w in r.warnings)
    assert isinstance(call(lambda: exit(3)).exception, SystemExit)


def test_jsonable_pictures_arrays_and_non_finite_values():
    assert jsonable(np.array([[1.0, np.inf]])) == [[1.0, "inf"]]
    assert jsonable({"k": np.int64(3), "t": (np.float32(0.5),)}) == {"k": 3, "t": [0.5]}
    assert jsonable(np.zeros(1000)).startswith("<array of shape (1000,)")
