"""``nnbasics sentiment``: word vectors -> mean sentence features -> softmax regression on SST.

Run on a synthetic treebank (``tests/sst_files.py``: words drawn from a hidden mood), with
vectors trained by ``nnbasics word2vec train`` on its sentences, and the same vectors as a GloVe
file (no header line).
"""

import json
import re
import shutil

import numpy as np
import pytest

from nnbasics.cli.main import main
from nnbasics.cli.sentiment import REPORT_FILES, SweepResult, choose
from nnbasics.io.sst import load_sst
from tests.sst_files import write_synthetic_sst

# chance is 0.2 on five balanced classes; this data and these vectors gave 0.63 test accuracy
# (seed 0; signal 0.15: 15% of the words tell the mood)
ABOVE_CHANCE = 0.45


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("sentiment")
    sst = load_sst(write_synthetic_sst(path / "sst", n=1500, signal=0.15))
    sentences = sst.train.sentences + sst.dev.sentences + sst.test.sentences
    (path / "corpus.txt").write_text("\n".join(" ".join(s) for s in sentences) + "\n",
                                     encoding="utf-8")
    assert main(["word2vec", "train", str(path / "corpus.txt"), "--out", str(path / "v.bin"),
                 "--size", "16", "--window", "3", "--min-count", "1", "--epochs", "5",
                 "--workers", "1", "--seed", "1", "--no-progress"]) == 0
    assert main(["word2vec", "train", str(path / "corpus.txt"), "--out", str(path / "v.txt"),
                 "--size", "16", "--window", "3", "--min-count", "1", "--epochs", "5",
                 "--workers", "1", "--seed", "1", "--no-progress"]) == 0
    lines = (path / "v.txt").read_text(encoding="utf-8").splitlines()
    (path / "glove.txt").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")  # no header
    return path


def _run(workdir, capsys, *extra, vectors="v.bin", data="sst", report="report"):
    code = main(["sentiment", "--vectors", str(workdir / vectors), "--data", str(workdir / data),
                 "--report", str(workdir / report), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _accuracies(out: str) -> dict[str, float]:
    line = next(x for x in out.splitlines() if x.startswith("accuracy:"))
    return {k: float(v) for k, v in re.findall(r"(train|dev|test) ([0-9.]+)", line)}


def test_word2vec_vectors_classify_sentences_above_chance(workdir, capsys):
    out = _run(workdir, capsys)
    accuracy = _accuracies(out)
    assert accuracy["test"] > ABOVE_CHANCE and accuracy["dev"] > ABOVE_CHANCE
    assert "treebank: " in out and "standardize    = True" in out
    for name in REPORT_FILES:
        assert (workdir / "report" / name).stat().st_size > 0
    summary = json.loads((workdir / "report" / "sentiment.json").read_text())
    assert summary["accuracy"] == pytest.approx(accuracy, abs=5e-5)
    dev = {r["alpha"]: r["dev_accuracy"] for r in summary["sweep"]}
    assert [r["alpha"] for r in summary["sweep"]] == [0.0, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]
    assert dev[summary["chosen_alpha"]] == max(dev.values())
    matrix = np.array(summary["test_confusion_matrix"])
    assert matrix.shape == (5, 5) and matrix.sum() == summary["sizes"]["test"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(accuracy["test"], abs=5e-5)


def test_a_glove_file_gives_the_same_result_as_the_same_vectors_in_word2vec_format(workdir,
                                                                                 capsys):
    as_text = _accuracies(_run(workdir, capsys, vectors="v.txt", report="r_text"))
    as_glove = _run(workdir, capsys, vectors="glove.txt", report="r_glove")
    assert _accuracies(as_glove) == as_text
    assert "vectors: 54 words of size 16" in as_glove


def test_the_test_split_plays_no_part_in_the_choice(workdir, capsys, tmp_path):
    """Scramble the test sentences' labels: the sweep and the choice stay, only test moves."""
    folder = shutil.copytree(workdir / "sst", tmp_path / "scrambled")
    split = np.loadtxt(folder / "datasetSplit.txt", delimiter=",", skiprows=1, dtype=int)
    test_rows = set(split[split[:, 1] == 2, 0])
    lines = (folder / "datasetSentences.txt").read_text(encoding="utf-8").splitlines()
    dictionary = (folder / "dictionary.txt").read_text(encoding="utf-8").splitlines()
    values = dict(line.split("|") for line in
                  (folder / "sentiment_labels.txt").read_text().splitlines()[1:])
    ids = {p.rsplit("|", 1)[0].lower(): p.rsplit("|", 1)[1] for p in dictionary}
    for line in lines[1:]:
        index, text = line.split("\t")
        if int(index) in test_rows:
            phrase = text.lower().replace("-lrb-", "(").replace("-rrb-", ")")
            if phrase in ids:
                values[ids[phrase]] = f"{1 - float(values[ids[phrase]]):g}"  # mirror the class
    (folder / "sentiment_labels.txt").write_text(
        "phrase ids|sentiment values\n" + "".join(f"{k}|{v}\n" for k, v in values.items()))

    _run(workdir, capsys, report=tmp_path / "original")
    original = json.loads((tmp_path / "original" / "sentiment.json").read_text())
    _run(workdir, capsys, data=folder, report=tmp_path / "r")
    scrambled = json.loads((tmp_path / "r" / "sentiment.json").read_text())
    assert scrambled["sweep"] == original["sweep"]
    assert scrambled["chosen_alpha"] == original["chosen_alpha"]
    assert scrambled["accuracy"]["test"] < original["accuracy"]["test"] - 0.2


def test_binary_labels_and_a_custom_sweep(workdir, capsys):
    # two classes train one logistic unit (scikit-learn's binary model); under Adam its weights
    # move half as fast as a 2-way softmax's difference of columns did: 60 epochs, not 30
    out = _run(workdir, capsys, "--labels", "2", "--reg-sweep", "0", "0.5", "--epochs", "60",
               report="r_binary")
    summary = json.loads((workdir / "r_binary" / "sentiment.json").read_text())
    assert summary["class_names"] == ["negative", "positive"]
    assert [r["alpha"] for r in summary["sweep"]] == [0.0, 0.5]
    assert _accuracies(out)["test"] > 0.7  # chance 0.5


def test_unstandardised_features_are_an_option(workdir, capsys):
    out = _run(workdir, capsys, "--no-standardize", "--reg-sweep", "0", report="r_raw")
    assert "standardize    = False" in out
    assert _accuracies(out)["test"] > 0.2


def test_ties_on_dev_go_to_the_stronger_regularisation():
    results = [SweepResult(a, 0.9, d, 10) for a, d in [(0.0, 0.5), (0.1, 0.6), (1.0, 0.6),
                                                         (10.0, 0.4)]]
    assert choose(results).alpha == 1.0


@pytest.mark.parametrize("args, message", [
    (["--vectors", "missing.bin"], "No such file or directory: missing.bin"),
    (["--reg-sweep", "-1"], "--reg-sweep values must be finite and >= 0"),
    (["--reg-sweep", "0.1", "0.1"], "repeats a value"),
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--labels", "3"], "invalid choice"),
    (["--data", "nowhere"], "not an SST folder: missing datasetSentences.txt"),
])
def test_errors_are_one_line(workdir, capsys, monkeypatch, args, message):
    monkeypatch.chdir(workdir)
    code = main(["sentiment", "--vectors", "v.bin", "--data", "sst", "--report", "r_err", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("nnbasics: error: ") and err.count("\n") == 1
    assert message in err


def test_download_fetches_the_treebank_only_when_it_is_missing(workdir, capsys, monkeypatch,
                                                              tmp_path):
    from nnbasics.io import sst as sst_module

    calls = []

    def fake_download(directory):  # stands in for the network: copies the synthetic files
        calls.append(directory)
        return shutil.copytree(workdir / "sst", directory, dirs_exist_ok=True)

    monkeypatch.setattr(sst_module, "download_sst", fake_download)
    out = _run(workdir, capsys, "--download", "--reg-sweep", "0", data=tmp_path / "new",
               report=tmp_path / "r1")
    assert calls == [str(tmp_path / "new")] and "downloading the treebank" in out
    _run(workdir, capsys, "--download", "--reg-sweep", "0", data=tmp_path / "new",
         report=tmp_path / "r2")
    assert len(calls) == 1  # there now: not fetched again
