"""Old module paths of nnbasics 0.1, kept importable after the move to subpackages.

``import nnbasics.network`` (or ``from nnbasics.datasets import load_mnist``) still works: the old
name is bound to the module at its new place, the same module object, through the documented
import hooks (:class:`importlib.abc.MetaPathFinder`, :class:`importlib.abc.Loader`).  Nothing is
imported before it is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

MOVED = {
    "nnbasics.activations": "nnbasics.core.activations",
    "nnbasics.losses": "nnbasics.core.losses",
    "nnbasics.gradcheck": "nnbasics.core.gradcheck",
    "nnbasics.layers": "nnbasics.core.layers",
    "nnbasics.initializers": "nnbasics.core.initializers",
    "nnbasics.network": "nnbasics.core.network",
    "nnbasics.checks": "nnbasics.core.checks",
    "nnbasics.optimizers": "nnbasics.mlp.optimizers",
    "nnbasics.training": "nnbasics.mlp.training",
    "nnbasics.estimator": "nnbasics.mlp.estimator",
    "nnbasics.serialization": "nnbasics.io.serialization",
    "nnbasics.datasets": "nnbasics.io.datasets",
    "nnbasics.figures": "nnbasics.io.figures",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def __init__(self) -> None:
        self._own_specs: dict[str, importlib.machinery.ModuleSpec] = {}

    def create_module(self, spec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self._own_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The module at its new place is already executed; the import system binds it under the
        # old name too (sys.modules[old] is module), and on the way set its ``__spec__`` to the
        # alias's: give it back its own, so that it still reports where it lives.
        module.__spec__ = self._own_specs.pop(module.__spec__.name)


def install() -> None:
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
