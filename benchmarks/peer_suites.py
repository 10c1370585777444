"""Run gensim's and scikit-learn's own tests against nnbasics (issue #16).

The test files shipped in the installed packages (gensim's ``test_word2vec.py`` and
``test_keyedvectors.py``, scikit-learn's ``neural_network/tests/test_mlp.py``) are copied into a
temporary directory and only their imports of the API under test are rewritten, each rewrite an
exact line listed in :data:`REWRITES`: the rewritten line imports the same names from a small
module, ``_nnbasics_peer.py`` (:data:`SHIM`), which takes them from nnbasics.  A name nnbasics
does not have yet becomes a placeholder that raises ``NotImplementedError`` when used, so that the
tests that need it fail one by one and the others still run.  What the tests use only to make data
or to check results (``gensim.test.utils``, ``gensim.utils``, ``sklearn.datasets``, ...) stays the
peer's.  After rewriting, no import of the peer's API under test may remain (apart from the lines
in :data:`KEPT_IMPORTS`, each with its reason): the runner checks this and stops otherwise.

pytest runs the copies (``--junitxml``); the tests in :data:`NOT_APPLICABLE` (each with its
reason) are taken out of the count, as are tests the peer file itself skips (optional
dependencies, bulk tests), and the figure printed per file is ``passed / applicable``.

Needs the peers installed (``pip install gensim scikit-learn``) and gensim's own test
dependency ``testfixtures``.  Usage::

    python benchmarks/peer_suites.py                    # every suite, 2 pytest workers
    python benchmarks/peer_suites.py --suite gensim -n 1 --json peers.json --failures

Not part of the default test suite (minutes, and it depends on the peers' versions);
``tests/test_peer_suites.py`` checks the rewriting itself.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: the module the rewritten imports read from: the names under test come from nnbasics
SHIM = '''\
"""Names the peer tests import, taken from nnbasics (written by benchmarks/peer_suites.py)."""
import importlib
import types


def _missing(name):
    """A stand-in for an API nnbasics does not have: any use raises NotImplementedError."""
    def fail(*args, **kwargs):
        raise NotImplementedError(f"nnbasics has no {name}")
    return type(name.rsplit(".", 1)[-1], (), {"__new__": fail, "__init__": fail})


def _get(module, name):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return _missing(f"{module}.{name}")


# gensim: the word2vec module and KeyedVectors are nnbasics's
from nnbasics import word2vec  # noqa: E402
from nnbasics.word2vec import keyedvectors  # noqa: E402
KeyedVectors = keyedvectors.KeyedVectors

# test_keyedvectors.py's test-data helpers (float32, a random vector maker): not under test
try:
    from gensim.models.keyedvectors import REAL, pseudorandom_weak_vector  # noqa: F401
except ImportError:
    pass

# ``gensim.<...>`` in test_keyedvectors.py: the test helpers are gensim's, the models nnbasics's
try:
    import gensim.test.utils
    import gensim.utils
    gensim = types.SimpleNamespace(
        models=types.SimpleNamespace(KeyedVectors=KeyedVectors, keyedvectors=keyedvectors),
        test=gensim.test, utils=gensim.utils,
    )
except ImportError:
    pass

# scikit-learn: the MLP estimators are nnbasics's
MLPClassifier = _get("nnbasics", "MLPClassifier")
MLPRegressor = _get("nnbasics", "MLPRegressor")
'''


@dataclass(frozen=True)
class Suite:
    """One peer test file: where it is installed and what the copy needs beside it."""

    peer: str  # the installed package that ships the file
    path: str  # the file, relative to the package
    conftest: str = ""  # a conftest.py written beside the copy (the peer's fixtures)
    rewrites: tuple[tuple[str, str], ...] = field(default=())


#: exact import lines of each peer file and what replaces them
REWRITES: dict[str, tuple[tuple[str, str], ...]] = {
    "gensim/test_word2vec.py": (
        ("from gensim.models import word2vec, keyedvectors",
         "from _nnbasics_peer import word2vec, keyedvectors"),
    ),
    "gensim/test_keyedvectors.py": (
        ("from gensim.models.keyedvectors import KeyedVectors, REAL, pseudorandom_weak_vector",
         "from _nnbasics_peer import KeyedVectors, REAL, pseudorandom_weak_vector"),
        ("import gensim.models.keyedvectors", "from _nnbasics_peer import gensim"),
    ),
    "sklearn/test_mlp.py": (
        ("from sklearn.neural_network import MLPClassifier, MLPRegressor",
         "from _nnbasics_peer import MLPClassifier, MLPRegressor"),
    ),
}

SUITES: dict[str, Suite] = {
    "gensim/test_word2vec.py": Suite("gensim", "test/test_word2vec.py"),
    "gensim/test_keyedvectors.py": Suite("gensim", "test/test_keyedvectors.py"),
    # scikit-learn's fixtures (global_random_seed, ...) live in its package conftest
    "sklearn/test_mlp.py": Suite("sklearn", "neural_network/tests/test_mlp.py",
                                 conftest="from sklearn.conftest import *  # noqa: F403\n"),
}

#: imports of the peer's own modules that stay after rewriting, with the reason
KEPT_IMPORTS: dict[str, str] = {
    "        from gensim.models import word2vec_corpusfile":
        "inside test_cython_line_sentence_works_with_filename, which tests gensim's compiled "
        "reader (not applicable, see NOT_APPLICABLE)",
}

# an import of the API under test (rewritten above, or kept with a reason)
_PEER_API = re.compile(r"^\s*(from|import)\s+(gensim\.models|sklearn\.neural_network)\b")

_PICKLE = "loads a model gensim saved as a Python pickle; nnbasics never loads pickles (it " \
          "refuses them with a message saying how to convert: save_word2vec_format in gensim)"

#: tests that cannot apply to nnbasics, by file and test id (fnmatch pattern), with the reason
NOT_APPLICABLE: dict[str, dict[str, str]] = {
    "gensim/test_word2vec.py": {
        "TestWord2VecModel::test_persistence_backwards_compatible": _PICKLE,
        "TestWord2VecModel::test_load_old_model": _PICKLE,
        "TestWord2VecModel::test_load_old_model_separates": _PICKLE,
        "TestWord2VecModel::test_load_old_models_*": _PICKLE,
        "TestWord2VecModel::test_large_mmap":
            "gensim's pickle save layout: save(sep_limit=0) puts arrays in separate .npy files "
            "beside the pickle, load(mmap='r') maps them; nnbasics saves one .npz",
        "TestWord2VecSentenceIterators::test_cython_line_sentence_works_with_filename":
            "tests gensim's compiled reader gensim.models.word2vec_corpusfile.CythonLineSentence",
        "TestWord2VecScripts::test_word2vec_stand_alone_script":
            "runs gensim's own command-line script (python -m gensim.scripts.word2vec_standalone)",
        "TestWord2VecModel::test_build_vocab_warning":
            "asserts the wording of a message on gensim's logger (testfixtures.log_capture)",
        "TestWord2VecModel::test_train_warning":
            "asserts the wording of a message on gensim's logger (testfixtures.log_capture)",
        "TestWord2VecModel::test_evaluate_word_analogies":
            "asserts that similarity_function='most_similar_cosmul' gives the same score and "
            "answers as 3CosAdd, true in gensim 4.4 only because its evaluate_word_analogies "
            "ignores the argument (it always calls most_similar; the argument came with gensim "
            "PR #2656); nnbasics answers by 3CosMul as asked (issue #15: never silently ignore "
            "an argument).  What else the test checks (score in [0, 1], the sections' keys) "
            "holds for nnbasics",
        "TestWord2VecModel::test_train_hs_and_neg":
            "asserts the wording of a message on gensim's logger, and that hs=0, negative=0 is "
            "an error, where nnbasics trains the full softmax (a documented feature)",
    },
    "gensim/test_keyedvectors.py": {
        "Gensim320Test::test": _PICKLE,
        "LoadWord2VecFormatTest::*":
            "calls gensim's private reader gensim.models.keyedvectors._load_word2vec_format "
            "with its private binary_chunk_size argument",
    },
    "sklearn/test_mlp.py": {
        "test_warm_start_full_iteration*":
            "asserts n_iter_ restarts at each warm-started fit; nnbasics counts every epoch of "
            "the model across warm starts (documented in MLPClassifier's docstring)",
        "test_mlp_warm_start_no_convergence*":
            "asserts n_iter_ == max_iter after a second warm-started fit; nnbasics' n_iter_ "
            "counts every epoch across warm starts (documented)",
        "test_gradient":
            "calls scikit-learn's private _loss_grad_lbfgs and _forward_pass; nnbasics' packed "
            "loss and gradient (nnbasics.mlp.reference.packed_loss_and_gradient) are checked "
            "numerically in tests/test_lbfgs.py",
        "test_mlp_param_dtypes[[]MLPClassifier-float64]":
            "asserts the parameters take the input's dtype; nnbasics trains in its dtype "
            "parameter, float32 by default (documented)",
        "test_mlp_param_dtypes[[]MLPRegressor-float64]":
            "the same assertion for the regressor: float32 parameters by default (documented)",
    },
}


def rewrite_imports(source: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    """``source`` with each ``(line, replacement)`` of ``rewrites`` replaced (whole lines).

    Raises ``ValueError`` if a listed line is missing (the peer's file changed: update the
    table) or if an import of the peer's API under test remains that :data:`KEPT_IMPORTS` does
    not list.
    """
    lines = source.splitlines(keepends=True)
    for old, new in rewrites:
        hits = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == old]
        if not hits:
            raise ValueError(f"import line not found (has the peer's test file changed?): {old!r}")
        for i in hits:
            lines[i] = new + "\n"
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if _PEER_API.match(text) and text not in KEPT_IMPORTS:
            raise ValueError(f"line {number} still imports the peer's API: {text!r}")
    return "".join(lines)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"{name} is not installed")
    return Path(spec.origin).parent


def _check_dependencies(names: list[str]) -> None:
    """Stop with a clear message if a peer, or a test dependency of one, is missing."""
    needed = {SUITES[name].peer for name in names}
    if "gensim" in needed:
        needed.add("testfixtures")  # gensim's test_word2vec.py imports it
    for module in sorted(needed):
        if importlib.util.find_spec(module) is None:
            package = {"sklearn": "scikit-learn"}.get(module, module)
            raise SystemExit(f"peer_suites: error: {module} is not installed "
                             f"(pip install {package}, or pip install -e '.[bench]')")


def prepare(workdir: Path, names: list[str]) -> list[Path]:
    """Copy and rewrite the suites' test files into ``workdir``; return the copies."""
    (workdir / "_nnbasics_peer.py").write_text(SHIM)
    (workdir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    copies = []
    for name in names:
        suite = SUITES[name]
        source = (_package_dir(suite.peer) / suite.path).read_text(encoding="utf-8")
        folder = workdir / f"peer_{suite.peer}"  # not the peer's own name, which it shadows
        folder.mkdir(exist_ok=True)
        (folder / "conftest.py").write_text(suite.conftest)
        copy = folder / Path(suite.path).name
        copy.write_text(rewrite_imports(source, REWRITES[name]), encoding="utf-8")
        copies.append(copy)
    return copies


def _outcomes(report: Path) -> dict[str, dict[str, str]]:
    """Per suite name, test id -> outcome ("passed", "failed", "error", "skipped") and message."""
    results: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        # classname is "peer_<peer>.<module>[.<Class>]", the node id from the work directory;
        # a module that failed to import is one case named "peer_<peer>.<module>"
        if case.get("classname"):
            folder, module, *cls = case.get("classname").split(".")
            test_id = "::".join([*cls, case.get("name", "")])
        else:
            folder, module = case.get("name", "").split(".")[:2]
            test_id = "<module import>"
        peer = folder.removeprefix("peer_")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome = "failed" if tag == "failure" else tag
                message = (child.get("message") or "").splitlines()[0][:200] \
                    if child.get("message") else ""
                break
        results.setdefault(f"{peer}/{module}.py", {})[test_id] = f"{outcome}\t{message}"
    return results


def not_applicable_reason(name: str, test_id: str) -> str | None:
    """The reason ``test_id`` of suite ``name`` is not counted, or None if it is applicable."""
    base = test_id.split("[", 1)[0]
    for pattern, reason in NOT_APPLICABLE.get(name, {}).items():
        if fnmatch.fnmatchcase(test_id, pattern) or fnmatch.fnmatchcase(base, pattern):
            return reason
    return None


def summarize(name: str, outcomes: dict[str, str]) -> dict:
    """Counts for one suite: passed, applicable, skipped, not applicable, and the failures."""
    summary = {"passed": 0, "applicable": 0, "skipped": 0, "not_applicable": 0,
               "failures": {}}
    for test_id, value in sorted(outcomes.items()):
        outcome, message = value.split("\t", 1)
        if not_applicable_reason(name, test_id) is not None:
            summary["not_applicable"] += 1
        elif outcome == "skipped":
            summary["skipped"] += 1
        else:
            summary["applicable"] += 1
            if outcome == "passed":
                summary["passed"] += 1
            else:
                summary["failures"][test_id] = message
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", choices=["gensim", "sklearn", *SUITES],
                        help="a peer (all its files) or one file; repeatable (default: all)")
    parser.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers")
    parser.add_argument("--json", type=Path, help="write the counts and failures here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--failures", action="store_true", help="list the failing tests")
    parser.add_argument("--src", type=Path, default=REPO / "src",
                        help="the nnbasics source tree to test (default: this checkout's)")
    args = parser.parse_args(argv)
    chosen = args.suite or ["gensim", "sklearn"]
    names = [n for n in SUITES if n in chosen or n.split("/")[0] in chosen]
    _check_dependencies(names)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="nnbasics-peers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        copies = prepare(workdir, names)
        report = workdir / "junit.xml"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(args.src.resolve()), str(workdir), env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}",
                   "-o", "junit_family=xunit1", "--import-mode=importlib",
                   *[str(c.relative_to(workdir)) for c in copies]]
        if args.workers > 1:
            command[4:4] = ["-n", str(args.workers)]
        subprocess.run(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, check=False)
        if not report.exists():
            raise SystemExit("peer_suites: error: pytest wrote no report (run it by hand in "
                             f"{workdir} with --keep to see why)")
        results = _outcomes(report)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    summaries = {name: summarize(name, results.get(name, {})) for name in names}
    print(f"{'suite':30} {'passed':>7} {'applic.':>7} {'%':>6} {'n/a':>4} {'skipped':>7}")
    for name, s in summaries.items():
        share = 100.0 * s["passed"] / s["applicable"] if s["applicable"] else 0.0
        print(f"{name:30} {s['passed']:7d} {s['applicable']:7d} {share:6.1f} "
              f"{s['not_applicable']:4d} {s['skipped']:7d}")
        if args.failures:
            for test_id, message in s["failures"].items():
                print(f"    FAIL {test_id}: {message}")
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
