"""The word2vec modules' docstring examples run, and every public name is documented."""

import doctest
import importlib
import inspect

import pytest

MODULES = [
    "nnbasics.word2vec.objectives",
    "nnbasics.word2vec.vocab",
    "nnbasics.word2vec.corpus",
    "nnbasics.word2vec.correlation",
    "nnbasics.word2vec.reference",
    "nnbasics.word2vec.formats",
    "nnbasics.word2vec.keyedvectors",
    "nnbasics.word2vec.model",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass_and_public_names_are_documented(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
    for attr in module.__all__:
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"
