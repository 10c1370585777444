"""Tests of ``nnbasics check`` and of the command line's error handling."""

import subprocess
import sys

import pytest

from nnbasics.cli.main import main
from nnbasics.core.checks import CHECKS, register, run_checks
from nnbasics.core.gradcheck import gradcheck


def test_check_prints_one_row_per_piece_and_passes(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    for name in (
        "sigmoid",
        "tanh",
        "relu",
        "softmax cross-entropy",
        "network parameters",
        "network inputs",
    ):
        assert name in out
    rows = [line for line in out.splitlines() if line.endswith(" pass")]
    assert len(rows) == len(CHECKS)
    assert "FAIL" not in out


def test_check_exits_1_when_a_gradient_is_wrong(capsys):
    import numpy as np

    @register("deliberately wrong")
    def _wrong():
        return gradcheck(lambda x: (float(np.sum(x**2)), 3 * x), np.ones(3))

    try:
        assert main(["check"]) == 1
        out = capsys.readouterr().out
        assert "deliberately wrong" in out and "FAIL" in out and "analytic" in out
    finally:
        del CHECKS["deliberately wrong"]


def test_check_named_subset(capsys):
    assert main(["check", "sigmoid"]) == 0
    assert "tanh" not in capsys.readouterr().out


def test_unknown_check_is_a_one_line_error(capsys):
    assert main(["check", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnbasics: error: unknown check") and err.count("\n") == 1


def test_run_checks_returns_results():
    results = run_checks(["relu"])
    assert results[0][0] == "relu" and results[0][1].passed


@pytest.mark.parametrize(
    "args", [["-m", "nnbasics", "check", "--list"], ["-m", "nnbasics", "--version"]]
)
def test_module_entry_point(args):
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert "Traceback" not in proc.stderr
