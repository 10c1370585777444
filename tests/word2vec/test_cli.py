"""Tests of ``nnbasics word2vec``: train, similar, analogy, evaluate, plot, and errors."""

import subprocess
import sys

import numpy as np
import pytest

from nnbasics.cli.main import main
from nnbasics.word2vec import KeyedVectors, Word2Vec
from tests.word2vec.test_learning import grouped_corpus


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A corpus, and vectors trained on it once by the CLI."""
    path = tmp_path_factory.mktemp("w2v")
    corpus = path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in grouped_corpus(1500)) + "\n",
                      encoding="utf-8")
    code = main(["word2vec", "train", str(corpus), "--out", str(path / "v.bin"), "--size", "16",
                 "--window", "3", "--min-count", "1", "--epochs", "3", "--workers", "1",
                 "--seed", "3", "--save-model", str(path / "m.npz"), "--no-progress"])
    assert code == 0
    return path


def test_train_writes_vectors_and_model(workdir, capsys):
    kv = KeyedVectors.load_word2vec_format(workdir / "v.bin", binary=True)
    model = Word2Vec.load(workdir / "m.npz")
    assert kv.index_to_key == model.wv.index_to_key and len(kv) == 48
    np.testing.assert_array_equal(kv.vectors, model.wv.vectors)
    assert model.sg == 1 and model.vector_size == 16 and model.seed == 3


def test_train_prints_settings_and_losses(workdir, capsys, tmp_path):
    out = tmp_path / "v.txt"
    assert main(["word2vec", "train", str(workdir / "corpus.txt"), "--out", str(out), "--cbow",
                 "--size", "4", "--min-count", "1", "--epochs", "1", "--negative", "0",
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "CBOW" in text and "vector_size=4" in text and "negative=0" in text
    assert "epoch 1: loss" in text
    assert out.read_text(encoding="utf-8").startswith("48 4\n")  # text format by extension


def test_train_with_hierarchical_softmax(workdir, capsys, tmp_path):
    out, saved = tmp_path / "v.txt", tmp_path / "m.npz"
    assert main(["word2vec", "train", str(workdir / "corpus.txt"), "--out", str(out), "--hs",
                 "--negative", "0", "--size", "4", "--min-count", "1", "--epochs", "1",
                 "--save-model", str(saved), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "hs=1" in text and "negative=0" in text
    model = Word2Vec.load(saved)
    assert model.hs == 1 and model.negative == 0
    assert model.syn1 is not None and np.any(model.syn1 != 0)  # the tree's vectors trained


def test_train_refuses_to_overwrite(workdir, capsys):
    before = (workdir / "v.bin").read_bytes()
    code = main(["word2vec", "train", str(workdir / "corpus.txt"), "--out", str(workdir / "v.bin")])
    err = capsys.readouterr().err
    assert code == 2 and "exists; pass --force" in err and err.count("\n") == 1
    assert (workdir / "v.bin").read_bytes() == before


def test_similar_and_analogy(workdir, capsys):
    assert main(["word2vec", "similar", str(workdir / "v.bin"), "g2w0", "--topn", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("g2w") for line in lines)
    assert main(["word2vec", "analogy", str(workdir / "m.npz"), "g0w0", "g0w1", "g1w0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "g0w0 : g0w1 :: g1w0 : ?" and len(out) == 6


def test_evaluate(workdir, capsys, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": groups\ng0w0 g0w1 g1w0 g1w1\nnope g0w1 g1w0 g1w1\n", encoding="utf-8")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("g0w0\tg0w1\t9\ng0w0\tg3w1\t1\ng2w2\tg2w5\t8\ng4w0\tg5w1\t2\n",
                     encoding="utf-8")
    assert main(["word2vec", "evaluate", str(workdir / "v.bin"), "--analogies", str(questions),
                 "--pairs", str(pairs)]) == 0
    out = capsys.readouterr().out
    assert "analogy accuracy:" in out and "spearman" in out and "out of vocabulary 0.0%" in out
    assert main(["word2vec", "evaluate", str(workdir / "v.bin")]) == 2


def test_plot(workdir, tmp_path, capsys):
    image = tmp_path / "fig.png"
    words = ["g0w0", "g0w1", "g1w0", "g1w1", "g2w0"]
    assert main(["word2vec", "plot", str(workdir / "v.bin"), *words, "--out", str(image)]) == 0
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image.write_bytes(b"precious")  # an existing file is not replaced without --force
    assert main(["word2vec", "plot", str(workdir / "v.bin"), *words, "--out", str(image)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert image.read_bytes() == b"precious"
    assert main(["word2vec", "plot", str(workdir / "v.bin"), "g0w0", "zzz",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "not in the vocabulary: zzz" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["train", "/no/such/corpus.txt"], "No such file"),
    (["similar", "/no/such/v.bin", "w"], "No such file"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--window", "0"], "window"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--size", "0"], "vector_size"),
    (["similar", "{corpus}", "w"], "not a word2vec file"),
    (["train", "{tmp}/empty.txt", "--out", "{tmp}/o.bin"], "corpus is empty"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--min-count", "100000"],
     "vocabulary would be empty"),
    (["train", "{tmp}/latin1.txt", "--out", "{tmp}/o.bin", "--min-count", "1"],
     "latin1.txt: line 2: invalid UTF-8"),
    (["train", "{corpus}", "--out", "{tmp}/no/such/dir/o.bin"], "No such file"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--save-model", "{tmp}/no/m.npz"],
     "No such file"),
    (["similar", "{workdir}/v.bin", "no-such-word"], "'no-such-word' not in vocabulary"),
    (["analogy", "{workdir}/v.bin", "g0w0", "zzz", "g1w0"], "'zzz' not in vocabulary"),
    (["evaluate", "{workdir}/v.bin", "--pairs", "{tmp}/nope.tsv"], "No such file"),
    (["similar", "{workdir}/v.bin", "g0w0", "--format", "model"], "not a valid nnbasics word2vec"),
    (["similar", "{tmp}/junk.npz", "g0w0"], "not a valid nnbasics word2vec model"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--window", "99999999999999999999"],
     "window must be an integer in [1, 2147483647]"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--negative", "99999999999999999999"],
     "negative must be an integer in [0, 2147483647]"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--sample", "inf"], "sample must be a finite"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--alpha", "inf"], "alpha > 0"),
    (["train", "{corpus}", "--out", "{tmp}/same", "--save-model", "{tmp}/same"],
     "--out and --save-model both name"),
    (["train", "{corpus}", "--out", "{tmp}", "--force"], "is a directory; give a file name"),
    (["train", "{corpus}", "--out", "{tmp}/v.npz"], "save the whole model with --save-model"),
    (["train", "{corpus}", "--out", ""], "--out is empty; give a file name"),
    (["train", "{corpus}", "--out", "{tmp}/o.bin", "--save-model", " "],
     "--save-model is empty"),
    (["plot", "{workdir}/v.bin", "g0w0", "--out", ""], "--out is empty"),
    (["evaluate", "{workdir}/v.bin", "--pairs", "{tmp}/latin1.txt"],
     "latin1.txt: line 2 is not valid UTF-8"),
])
def test_errors_are_one_line(workdir, tmp_path, capsys, args, message):
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("g0w0 g0w1\ncaf\xe9 g0w2\n".encode("latin-1"))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04junk")
    args = [a.format(corpus=workdir / "corpus.txt", tmp=tmp_path, workdir=workdir) for a in args]
    assert main(["word2vec", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnbasics: error:") and message in err and err.count("\n") == 1


def test_word2vec_is_listed_in_help():
    proc = subprocess.run([sys.executable, "-m", "nnbasics", "word2vec", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for action in ("train", "similar", "analogy", "evaluate", "plot"):
        assert action in proc.stdout


def test_ctrl_c_keeps_the_vectors_trained_so_far(workdir, tmp_path, capsys, monkeypatch):
    # an interrupt after the first of three epochs: the outputs hold that epoch's vectors
    original = Word2Vec.train

    def one_epoch_then_interrupt(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "epochs": 1})
        raise KeyboardInterrupt

    monkeypatch.setattr(Word2Vec, "train", one_epoch_then_interrupt)
    out, saved = tmp_path / "v.txt", tmp_path / "m.npz"
    code = main(["word2vec", "train", str(workdir / "corpus.txt"), "--out", str(out),
                 "--size", "8", "--min-count", "1", "--epochs", "3", "--workers", "1",
                 "--seed", "5", "--save-model", str(saved), "--no-progress"])
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted in epoch 2 of 3: writing the vectors trained so far" in err
    assert "stopped early after 1 full epochs" in err and str(saved) in err
    model = Word2Vec.load(saved)
    assert model.epochs_trained == 1
    kv = KeyedVectors.load_word2vec_format(out)
    np.testing.assert_allclose(kv.vectors, model.wv.vectors, atol=1e-6)  # text: 6 decimals


def test_progress_off_a_terminal_is_one_line_per_epoch_on_stderr(workdir, tmp_path, capsys):
    # under pytest stderr is not a terminal: no bar, a line at each epoch's end instead
    assert main(["word2vec", "train", str(workdir / "corpus.txt"), "--out",
                 str(tmp_path / "v.txt"), "--size", "4", "--min-count", "1", "--epochs", "2",
                 "--workers", "1"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("word2vec:")]
    assert [line.split(" done")[0] for line in lines] == ["word2vec: epoch 1/2",
                                                          "word2vec: epoch 2/2"]
    assert all("per pair" in line for line in lines)
    assert main(["word2vec", "train", str(workdir / "corpus.txt"), "--out",
                 str(tmp_path / "w.txt"), "--size", "4", "--min-count", "1", "--epochs", "2",
                 "--no-progress"]) == 0
    assert "word2vec: epoch" not in capsys.readouterr().err
