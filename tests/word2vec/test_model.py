"""Tests of Word2Vec: API, schedule, loss, determinism, save/load, errors."""

import ast
import inspect
import re

import numpy as np
import pytest

import nnbasics
from nnbasics.word2vec import model as model_module
from nnbasics.word2vec.model import Word2Vec, select_kernel


def make_corpus(n_sentences=300, seed=0):
    rng = np.random.default_rng(seed)
    groups = [[f"g{g}w{i}" for i in range(5)] for g in range(4)]
    return [list(map(str, rng.choice(groups[rng.integers(4)], 8))) for _ in range(n_sentences)]


CORPUS = make_corpus()
SMALL = dict(vector_size=8, window=2, min_count=1, epochs=2, workers=1, sample=0)


def test_lazy_top_level_export():
    assert nnbasics.Word2Vec is Word2Vec
    assert nnbasics.KeyedVectors is nnbasics.word2vec.KeyedVectors
    with pytest.raises(AttributeError):
        nnbasics.no_such_thing  # noqa: B018


def documented_defaults(doc: str) -> dict:
    """``name : type, default X`` (or ``a, b : type, default X and Y``, or ``optional``: None)."""
    found = {}
    for names, rest in re.findall(r"^(\w+(?:, \w+)*) : (.*)$", doc, flags=re.M):
        names = names.split(", ")
        if "default " in rest:
            values = rest.split("default ", 1)[1].split(" and ")
        elif "optional" in rest:
            values = ["None"] * len(names)
        else:
            continue
        found.update(zip(names, values, strict=True))
    return found


def test_defaults_match_docstring_and_gensim():
    params = inspect.signature(Word2Vec).parameters
    documented = documented_defaults(inspect.getdoc(Word2Vec))
    for name, param in params.items():
        assert name in documented, f"{name} has no documented default"
        assert ast.literal_eval(documented[name]) == param.default, name
    gensim = pytest.importorskip("gensim")
    theirs = inspect.signature(gensim.models.Word2Vec).parameters
    for name, param in params.items():
        if name in ("sg", "progress", "batch_words") or name not in theirs:
            continue  # sg=1 is our documented default (the choice)
        assert param.default == theirs[name].default, name
    assert params["sg"].default == 1


def test_training_gives_vectors_and_per_epoch_loss():
    seen = []

    class Recorder:
        def on_epoch_end(self, model):
            seen.append((model.epochs_trained, model.get_latest_training_loss()))

    model = Word2Vec(CORPUS, callbacks=[Recorder()], **{**SMALL, "epochs": 3})
    assert model.wv.vectors.shape == (20, 8) and model.syn1neg.shape == (20, 8)
    assert model.corpus_count == 300 and model.corpus_total_words == 2400
    assert len(model.epoch_losses) == 3 and all(isinstance(x, float) for x in model.epoch_losses)
    assert model.get_latest_training_loss() == model.epoch_losses[-1] > 0
    assert [e for e, _ in seen] == [1, 2, 3]
    assert [loss for _, loss in seen] == model.epoch_losses
    # a learnable corpus: the loss per pair goes down from epoch to epoch
    per_pair = np.array(model.epoch_losses) / np.array(model.epoch_pairs)
    assert per_pair[-1] < per_pair[0]
    assert model.vector_size == 8 and model.sg == 1  # settings readable as in gensim


def test_same_seed_one_worker_gives_identical_vectors():
    a = Word2Vec(CORPUS, seed=5, **SMALL)
    b = Word2Vec(CORPUS, seed=5, **SMALL)
    c = Word2Vec(CORPUS, seed=6, **SMALL)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    assert a.epoch_losses == b.epoch_losses
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_corpus_file_and_sentences_train_identically(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in CORPUS) + "\n", encoding="utf-8")
    from_file = Word2Vec(corpus_file=path, **SMALL)
    from_list = Word2Vec(CORPUS, **SMALL)
    assert from_file.wv.index_to_key == from_list.wv.index_to_key
    np.testing.assert_array_equal(from_file.wv.vectors, from_list.wv.vectors)


@pytest.mark.parametrize("sg", [1, 0])
def test_full_softmax_and_reference_paths_train(sg):
    model = Word2Vec(CORPUS[:100], negative=0, sg=sg, **{**SMALL, "epochs": 1})
    assert np.isfinite(model.wv.vectors).all() and model.epoch_losses[0] > 0
    assert select_kernel(0) is select_kernel(5, prefer="reference")


def test_learning_rate_schedule_and_batch_seeds(monkeypatch):
    calls = []

    def recording_kernel(C, U, tokens, ends, keep, table, sg, window, negative, a0, a1, seed,
                         n_threads):
        calls.append((tokens.size, a0, a1, seed))
        return 1.0, 1, tokens.size

    monkeypatch.setattr(model_module, "select_kernel", lambda negative: recording_kernel)
    model = Word2Vec(CORPUS, alpha=0.05, min_alpha=0.001, batch_words=500,
                     **{**SMALL, "epochs": 2})
    a0 = np.array([c[1] for c in calls])
    a1 = np.array([c[2] for c in calls])
    assert a0[0] == pytest.approx(0.05) and a1[-1] == pytest.approx(0.001)
    np.testing.assert_allclose(a0[1:], a1[:-1])  # continuous across batches and epochs
    assert np.all(np.diff(a0) < 0)
    assert len({c[3] for c in calls}) == len(calls)  # every batch its own seed
    assert model.epoch_losses == [len(calls) / 2] * 2


def test_save_load_roundtrip_and_continue_training(tmp_path):
    model = Word2Vec(CORPUS, **SMALL)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = Word2Vec.load(path)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.syn1neg, model.syn1neg)
    np.testing.assert_array_equal(loaded.wv.counts, model.wv.counts)
    assert loaded.wv.index_to_key == model.wv.index_to_key
    assert loaded.config == model.config and loaded.epoch_losses == model.epoch_losses
    # continuing after a load is the same as continuing the original
    model.train(CORPUS, epochs=1)
    loaded.train(CORPUS, epochs=1)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    assert loaded.epochs_trained == 3 and len(loaded.epoch_losses) == 3
    assert not np.array_equal(loaded.wv.vectors, Word2Vec.load(path).wv.vectors)


def test_load_rejects_foreign_and_pickled_files(tmp_path):
    pickled = tmp_path / "p.npz"
    np.savez(pickled, vectors=np.array([object()], dtype=object), syn1neg=np.zeros(1),
             counts=np.zeros(1), metadata=np.zeros(1, np.uint8))
    with pytest.raises(ValueError):
        Word2Vec.load(pickled)
    other = tmp_path / "o.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="missing"):
        Word2Vec.load(other)
    junk = tmp_path / "j.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError):
        Word2Vec.load(junk)
    model = Word2Vec(CORPUS[:20], **SMALL)
    good = tmp_path / "g.npz"
    model.save(good)
    with np.load(good) as archive:
        arrays = dict(archive)
    arrays["vectors"] = arrays["vectors"][:3]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="shapes"):
        Word2Vec.load(tmp_path / "bad.npz")


def test_progress_bar_shows_words_per_second_and_loss(capsys):
    Word2Vec(CORPUS, progress=True, **SMALL)
    err = capsys.readouterr().err.splitlines()[-1]
    assert "word/s" in err and "loss=" in err and "4.80k/4.80k" in err


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sentences=[[], []]), ValueError, "corpus is empty"),
    (dict(sentences=[["a"], ["b"]], min_count=2), ValueError, "min_count=2"),
    (dict(corpus_file="/nonexistent/corpus.txt"), FileNotFoundError, "No such file"),
    (dict(sentences=CORPUS, window=0), ValueError, "window"),
    (dict(sentences=CORPUS, vector_size=0), ValueError, "vector_size"),
    (dict(sentences=CORPUS, hs=1), ValueError, "hierarchical softmax"),
    (dict(sentences=CORPUS, sg=2), ValueError, "sg"),
    (dict(sentences=CORPUS, alpha=-1), ValueError, "alpha"),
    (dict(sentences=(s for s in CORPUS)), TypeError, "one-shot generator"),
    (dict(sentences=CORPUS, corpus_file="x.txt"), ValueError, "exactly one"),
])
def test_bad_input_is_a_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        Word2Vec(**{"min_count": 1, **kwargs})


def test_train_before_build_vocab_is_an_error():
    with pytest.raises(ValueError, match="build_vocab"):
        Word2Vec(min_count=1).train(CORPUS)


def test_invalid_utf8_corpus_names_the_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b c\nd \xc3\x28 e\n")
    with pytest.raises(ValueError, match="line 2"):
        Word2Vec(corpus_file=path, min_count=1)


@pytest.mark.parametrize("sg", [1, 0])
def test_several_workers_train_every_batch_and_learn(tmp_path, sg):
    """workers=2: batches trained by two threads, and one long line split between them."""
    path = tmp_path / "corpus.txt"
    lines = [" ".join(s) for s in CORPUS]
    lines.append(" ".join(w for s in CORPUS[:100] for w in s))  # 800 tokens: a big batch
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = {**SMALL, "workers": 2, "epochs": 4, "batch_words": 100, "sg": sg}
    model = Word2Vec(corpus_file=path, **settings)
    effective, raw = model.train(corpus_file=path, epochs=1)
    assert raw == model.corpus_total_words == 2400 + 800 and effective == raw  # sample=0
    assert len(model.epoch_losses) == 5 and np.isfinite(model.wv.vectors).all()
    per_pair = np.array(model.epoch_losses) / np.array(model.epoch_pairs)
    assert per_pair[-1] < per_pair[0]
    same = model.wv.similarity("g0w0", "g0w1")
    other = np.mean([model.wv.similarity("g0w0", f"g{g}w1") for g in (1, 2, 3)])
    assert same > other + 0.3
