"""The docstrings' examples run (doctest) and every public function of the core has a docstring."""

import doctest
import importlib
import inspect
import re

import pytest

CORE = [
    "nnbasics.core.activations",
    "nnbasics.core.losses",
    "nnbasics.core.gradcheck",
    "nnbasics.core.layers",
    "nnbasics.core.network",
]


@pytest.mark.parametrize("name", CORE)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


@pytest.mark.parametrize("name", CORE)
def test_public_functions_are_documented_with_parameters(name):
    module = importlib.import_module(name)
    for attr in module.__all__:
        obj = getattr(module, attr)
        assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert "return" in sig.__str__() or sig.return_annotation is not inspect.Signature.empty


def test_gradcheck_docstring_defaults_match_signature():
    from nnbasics.core.gradcheck import gradcheck

    doc = inspect.getdoc(gradcheck)
    for param in ("eps", "tol", "floor", "n_directions"):
        default = inspect.signature(gradcheck).parameters[param].default
        match = re.search(rf"^{param} : .*default (\S+)$", doc, flags=re.MULTILINE)
        assert match, f"{param} has no documented default"
        assert float(match.group(1)) == default, f"{param}: doc says {match.group(1)}"
