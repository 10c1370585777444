"""Tests of benchmarks/peer_suites.py, the runner of gensim's and scikit-learn's own tests against
nnbasics: its import rewriting and its counting (the suites themselves run by hand, not here)."""

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "benchmarks" / "peer_suites.py"


@pytest.fixture(scope="module")
def peers():
    spec = importlib.util.spec_from_file_location("peer_suites", RUNNER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_rewrites_only_the_listed_import_lines(peers):
    source = textwrap.dedent("""\
        import numpy as np
        from gensim.models import word2vec, keyedvectors
        from gensim.test.utils import datapath
        x = "from gensim.models import word2vec, keyedvectors"
        """)
    rewritten = peers.rewrite_imports(source, peers.REWRITES["gensim/test_word2vec.py"])
    assert rewritten.splitlines() == [
        "import numpy as np",
        "from _nnbasics_peer import word2vec, keyedvectors",
        "from gensim.test.utils import datapath",  # test helpers stay gensim's
        'x = "from gensim.models import word2vec, keyedvectors"',  # not an import line
    ]


def test_a_missing_or_unlisted_peer_import_stops_the_runner(peers):
    rewrites = peers.REWRITES["gensim/test_word2vec.py"]
    with pytest.raises(ValueError, match="not found"):
        peers.rewrite_imports("import numpy\n", rewrites)
    with pytest.raises(ValueError, match="line 2 still imports the peer's API"):
        peers.rewrite_imports("from gensim.models import word2vec, keyedvectors\n"
                              "from gensim.models import Doc2Vec\n", rewrites)


@pytest.mark.parametrize("name", ["gensim/test_word2vec.py", "gensim/test_keyedvectors.py",
                                  "sklearn/test_mlp.py"])
def test_installed_peer_files_rewrite_to_nnbasics(peers, name, tmp_path):
    pytest.importorskip(name.split("/")[0])
    (copy,) = peers.prepare(tmp_path, [name])
    text = copy.read_text(encoding="utf-8")
    compile(text, str(copy), "exec")
    assert "from _nnbasics_peer import" in text
    shim = (tmp_path / "_nnbasics_peer.py").read_text()
    assert "from nnbasics import word2vec" in shim and '_get("nnbasics", "MLPClassifier")' in shim


def test_the_shim_gives_nnbasics_classes_and_placeholders_that_raise(peers, tmp_path,
                                                                     monkeypatch):
    pytest.importorskip("gensim")
    peers.prepare(tmp_path, [])
    monkeypatch.syspath_prepend(str(tmp_path))
    import _nnbasics_peer as shim

    from nnbasics.word2vec import KeyedVectors, Word2Vec

    assert shim.word2vec.Word2Vec is Word2Vec and shim.KeyedVectors is KeyedVectors
    assert shim.gensim.models.KeyedVectors is KeyedVectors
    assert shim.gensim.models.keyedvectors.KeyedVectors is KeyedVectors
    missing = shim._missing("nnbasics.Nothing")
    with pytest.raises(NotImplementedError, match=r"nnbasics has no nnbasics\.Nothing"):
        missing(hidden_layer_sizes=3)


def test_counting_leaves_out_skipped_and_not_applicable_tests(peers):
    outcomes = {
        "TestWord2VecModel::test_ok": "passed\t",
        "TestWord2VecModel::test_bad": "failed\tAssertionError: no",
        "TestWord2VecModel::test_load_old_models_3_x": "failed\tpickle",
        "TestWMD::test_nonzero": "skipped\tPOT not installed",
    }
    summary = peers.summarize("gensim/test_word2vec.py", outcomes)
    assert (summary["passed"], summary["applicable"]) == (1, 2)
    assert (summary["not_applicable"], summary["skipped"]) == (1, 1)
    assert summary["failures"] == {"TestWord2VecModel::test_bad": "AssertionError: no"}
    assert "pickle" in peers.not_applicable_reason("gensim/test_keyedvectors.py",
                                                   "Gensim320Test::test")
    assert peers.not_applicable_reason("sklearn/test_mlp.py", "test_fit") is None


def test_junit_report_is_read_per_file_and_test(peers, tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(textwrap.dedent("""\
        <testsuites><testsuite>
        <testcase classname="peer_gensim.test_keyedvectors.TestKeyedVectors" name="test_rank"/>
        <testcase classname="peer_sklearn.test_mlp" name="test_fit[x]">
          <failure message="AssertionError: bad&#10;second line">trace</failure></testcase>
        <testcase classname="" name="peer_sklearn.test_other">
          <error message="collection failure">trace</error></testcase>
        </testsuite></testsuites>"""))
    assert peers._outcomes(report) == {
        "gensim/test_keyedvectors.py": {"TestKeyedVectors::test_rank": "passed\t"},
        "sklearn/test_mlp.py": {"test_fit[x]": "failed\tAssertionError: bad"},
        "sklearn/test_other.py": {"<module import>": "error\tcollection failure"},
    }
