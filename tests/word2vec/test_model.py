"""Tests of Word2Vec: API, schedule, loss, determinism, save/load, errors."""

import ast
import inspect
import re

import numpy as np
import pytest

import nnbasics
from nnbasics.word2vec.corpus import LineSentences
from nnbasics.word2vec.model import Word2Vec


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
    trainer, n_threads = model._batch_trainer()
    assert n_threads == 1 and trainer.__name__ == "full_softmax"  # the explicit path
    from nnbasics._accel import word2vec_kernels

    model.negative = 5
    trainer, n_threads = model._batch_trainer()
    assert n_threads == SMALL["workers"] and trainer.func is word2vec_kernels.train_batch


def test_learning_rate_schedule_and_batch_seeds(monkeypatch):
    calls = []

    def recording_trainer(tokens, ends, a0, a1, seed, n_threads):
        calls.append((tokens.size, a0, a1, seed))
        return 1.0, 1, tokens.size

    monkeypatch.setattr(Word2Vec, "_batch_trainer", lambda self: (recording_trainer, 1))
    model = Word2Vec(CORPUS, alpha=0.05, min_alpha=0.001, batch_words=500,
                     **{**SMALL, "epochs": 2})
    a0 = np.array([c[1] for c in calls])
    a1 = np.array([c[2] for c in calls])
    np.testing.assert_array_equal(a0, a1)  # one rate a batch (gensim's and word2vec.c's steps)
    assert a0[0] == pytest.approx(0.05) and np.all(np.diff(a0) < 0)
    # each step is the batch's share of the planned words (min_count 1: every word trains)
    planned = 2 * model.corpus_total_words
    steps = -np.diff(a0)
    np.testing.assert_allclose(steps, 0.049 * np.array([c[0] for c in calls[:-1]]) / planned,
                               rtol=1e-9)
    assert a0[-1] - 0.001 == pytest.approx(0.049 * calls[-1][0] / planned)  # one step to go
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
    with pytest.raises(ValueError, match="not an nnbasics word2vec model"):
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
    (dict(sentences=CORPUS, hs=2), ValueError, "hierarchical softmax"),
    (dict(sentences=CORPUS, sg=2), ValueError, "sg"),
    (dict(sentences=CORPUS, cbow_mean=2), ValueError, "cbow_mean"),
    (dict(sentences=CORPUS, cbow_mean=0.5), ValueError, "cbow_mean"),
    (dict(sentences=CORPUS, cbow_mean="sum"), ValueError, "cbow_mean"),
    (dict(sentences=CORPUS, alpha=-1), ValueError, "alpha"),
    (dict(sentences=(s for s in CORPUS)), TypeError, "one-shot generator"),
    (dict(sentences=CORPUS, corpus_file="x.txt"), ValueError, "exactly one"),
    (dict(sentences=[[1, 2], [2, 3]]), TypeError, "words must be str"),
    (dict(sentences=["a b", "c d"]), TypeError, "list of tokens"),
])
def test_bad_input_is_a_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        Word2Vec(**{"min_count": 1, **kwargs})


def test_an_empty_vocabulary_raises_what_gensim_raises_too():
    with pytest.raises(RuntimeError, match="corpus is empty"):
        Word2Vec([])
    with pytest.raises(RuntimeError, match="min_count=10000"):
        Word2Vec(CORPUS, min_count=10_000)


def test_docstring_says_full_softmax_is_for_small_vocabularies():
    doc = " ".join(inspect.getdoc(Word2Vec).split())
    assert "0 trains with the full softmax" in doc and "small vocabularies only" in doc


def test_train_before_build_vocab_is_an_error():
    with pytest.raises(ValueError, match="build_vocab"):
        Word2Vec(min_count=1).train(CORPUS)


def test_invalid_utf8_corpus_names_the_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b c\nd \xc3\x28 e\n")
    with pytest.raises(ValueError, match="line 2"):
        Word2Vec(corpus_file=path, min_count=1)


# -- the "better than gensim" points, one test each ---------------------------------------


def _stub_trainer(record=None):
    """A batch trainer that trains nothing and records its batches (if ``record`` is a list)."""

    def trainer(tokens, ends, a0, a1, seed, n_threads):
        if record is not None:
            record.append((tokens.copy(), ends.copy()))
        return 0.0, 0, tokens.size

    return lambda model: (trainer, 1)


def _write_corpus(path, n_lines, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(200)])
    with open(path, "w", encoding="utf-8") as handle:
        for _ in range(n_lines // 1000):
            handle.write("\n".join(" ".join(row) for row in rng.choice(words, (1000, 12))) + "\n")
    return path


def test_corpus_file_is_streamed_memory_does_not_grow_with_the_corpus(tmp_path, monkeypatch):
    import tracemalloc

    monkeypatch.setattr(Word2Vec, "_batch_trainer", _stub_trainer())
    peaks = {}
    for n_lines in (12000, 48000):  # 144k and 576k tokens
        path = _write_corpus(tmp_path / f"c{n_lines}.txt", n_lines)
        tracemalloc.start()
        try:
            model = Word2Vec(corpus_file=path, vector_size=8, min_count=1, epochs=1, workers=1,
                             batch_words=1000)
            _, peaks[n_lines] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert model.corpus_total_words == 12 * n_lines
    size = (tmp_path / "c48000.txt").stat().st_size
    # reading the whole file (its token lists alone take several times its size) would break
    # both bounds; the compiled reader's fixed buffers (~0.55 MB) do not grow with the corpus
    assert peaks[48000] < size / 2
    assert peaks[48000] <= 1.25 * peaks[12000] + 32_768, peaks


def test_long_lines_reach_the_kernel_whole(tmp_path, monkeypatch):
    record = []
    monkeypatch.setattr(Word2Vec, "_batch_trainer", _stub_trainer(record))
    path = tmp_path / "long.txt"
    long_line = [f"w{i % 50}" for i in range(25_000)]  # gensim would cut it at 10,000
    path.write_text(" ".join(long_line) + "\nw1 w2\n", encoding="utf-8")
    for sentences in (LineSentences(path), [long_line, ["w1", "w2"]]):
        record.clear()
        model = Word2Vec(sentences, min_count=1, epochs=1, workers=1)
        # the long line is one batch of its own, whole; the short line follows in the next
        assert [ends.tolist() for _, ends in record] == [[25_000], [2]]
        assert [model.wv.index_to_key[i] for i in record[0][0]] == long_line


def test_epoch_loss_is_accumulated_in_float64(monkeypatch):
    batch_losses = iter([2.0**30, 1.0, 1.0, 1.0] * 1000)

    def trainer(tokens, ends, a0, a1, seed, n_threads):
        return np.float32(next(batch_losses)), 1, tokens.size

    monkeypatch.setattr(Word2Vec, "_batch_trainer", lambda self: (trainer, 1))
    model = Word2Vec(CORPUS, batch_words=8, **{**SMALL, "epochs": 2})
    n_batches = model.epoch_pairs[0]
    assert n_batches == 300  # one batch per 8-token sentence
    # float32 would drop the 1.0s next to 2**30; every epoch starts from 0
    assert model.epoch_losses[0] == 2.0**30 * 75 + 225
    assert model.epoch_losses[1] == 2.0**30 * 75 + 225


@pytest.mark.parametrize("workers", [1, 2])
def test_loss_counts_every_term_with_any_number_of_workers(workers):
    # With a negligible learning rate the output vectors stay ~0, so every loss term (the
    # positive and each negative) is -log σ(0) = log 2: the epoch loss must be (1 + K) log 2 per
    # positive pair, less the few negatives skipped for equalling their target (1 in 20 here).
    # A loss overwritten by threads, or kept in float32 and lost, would fall far below.
    model = Word2Vec(CORPUS, alpha=1e-8, min_alpha=1e-9, batch_words=2400,
                     **{**SMALL, "epochs": 1, "workers": workers})
    per_pair = model.epoch_losses[0] / model.epoch_pairs[0]
    full = (1 + model.negative) * np.log(2)
    assert 0.9 * full < per_pair <= full + 1e-6
    assert model.epoch_pairs[0] > 2 * 2400  # about 2 × window-average pairs per token


def test_seed_gives_identical_vectors_across_processes_without_env_vars(tmp_path):
    import hashlib
    import os
    import subprocess
    import sys

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(s) for s in CORPUS) + "\n", encoding="utf-8")
    script = (
        "import hashlib, sys; from nnbasics import Word2Vec; "
        "m = Word2Vec(corpus_file=sys.argv[1], vector_size=8, window=2, min_count=1, epochs=2, "
        "workers=1, seed=7); "
        "print(hashlib.sha256(m.wv.vectors.tobytes() + m.syn1neg.tobytes()).hexdigest(), "
        "' '.join(m.wv.index_to_key))"
    )
    outputs = []
    for hash_seed in ("1", "2"):  # different string hashing in each process
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", script, str(corpus)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    here = Word2Vec(corpus_file=corpus, vector_size=8, window=2, min_count=1, epochs=2,
                    workers=1, seed=7)
    digest = hashlib.sha256(here.wv.vectors.tobytes() + here.syn1neg.tobytes()).hexdigest()
    assert outputs[0].split()[0] == digest


def test_gensim_callbacks_are_called_at_each_epoch_end():
    gensim = pytest.importorskip("gensim")

    class EpochLogger(gensim.models.callbacks.CallbackAny2Vec):
        def __init__(self):
            self.events = []

        def on_train_begin(self, model):
            self.events.append("begin")

        def on_epoch_end(self, model):
            self.events.append(("end", model.epochs_trained, model.get_latest_training_loss()))

    logger = EpochLogger()
    model = Word2Vec(CORPUS, callbacks=[logger], **{**SMALL, "epochs": 3})
    assert logger.events == ["begin"] + [("end", i + 1, model.epoch_losses[i]) for i in range(3)]


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


def test_a_reiterable_that_comes_back_empty_is_an_error():
    class RunsOnce:
        """Re-iterable by type (has __iter__, is not an iterator) but empty after one pass."""

        def __init__(self, sentences):
            self.sentences = list(sentences)

        def __iter__(self):
            sentences, self.sentences = self.sentences, []
            return iter(sentences)

    model = Word2Vec(**{**SMALL, "epochs": 2})
    model.build_vocab(CORPUS)
    # the input check peeks at the first sentence (one pass); the epoch then reads nothing
    with pytest.raises(ValueError, match=r"no words in epoch 1.*re-iterable that runs only once"):
        model.train(RunsOnce(CORPUS))
    assert model.epochs_trained == 0


def test_learning_rate_never_falls_below_min_alpha_on_a_longer_corpus(monkeypatch):
    model = Word2Vec(**{**SMALL, "epochs": 2, "batch_words": 200})
    model.build_vocab(CORPUS[:40])
    alphas = []

    def recording_kernel(*args):
        alphas.append(args[2:4])  # alpha at the batch's start and end
        return 0.0, 0, 0

    monkeypatch.setattr(model, "_batch_trainer", lambda: (recording_kernel, 1))
    model.train(CORPUS[:40] * 5, epochs=2)  # five times the words the scan counted
    start, end = model.config.alpha, model.config.min_alpha
    floor = end - 1e-15  # start - (start - end) * 1.0 may round an ulp below end
    assert all(floor <= a <= start for pair in alphas for a in pair)
    assert alphas[-1][1] == pytest.approx(end)
    alphas.clear()
    # told how many sentences there are, the decay spans them all (gensim's total_examples)
    model.train(CORPUS[:40] * 5, total_examples=200, epochs=2)
    assert all(floor <= a <= start for pair in alphas for a in pair)
    assert alphas[len(alphas) // 2][0] > 0.4 * start  # half-way, not already at the floor
    assert alphas[-1][1] < 0.1 * start  # the last batch: one batch's step above the floor


def test_a_none_token_is_refused_like_any_other_non_string():
    with pytest.raises(TypeError, match="words must be str, got NoneType None"):
        Word2Vec([["a", None, "b"]] * 5, **SMALL)


def test_a_corrupt_model_file_is_a_value_error(tmp_path):
    model = Word2Vec(CORPUS[:20], **SMALL)
    path = tmp_path / "m.npz"
    model.save(path)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ValueError, match=r"truncated or corrupt|not a valid"):
        Word2Vec.load(path)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not a valid nnbasics word2vec model"):
        Word2Vec.load(tmp_path / "junk.npz")


def test_seeds_beyond_32_bits_and_bad_totals():
    model = Word2Vec(CORPUS[:20], **{**SMALL, "seed": 2**31 + 7})  # seeds only NumPy's generators
    assert model.config.seed == 2**31 + 7
    for bad in (0, -5):
        with pytest.raises(ValueError, match="total_examples must be >= 1"):
            model.train(CORPUS[:20], total_examples=bad, epochs=1)
    with pytest.raises(ValueError, match="total_words must be >= 1"):
        model.train(CORPUS[:20], total_words=-1, epochs=1)


def test_each_batch_trains_at_its_start_rate_unless_it_is_one_long_line(monkeypatch):
    # gensim and word2vec.c hold the rate over each ~batch_words words; a constant rate per batch
    # matters on small corpora (a half-batch lag was ~3% less learning at 35 batches in all)
    model = Word2Vec(**{**SMALL, "batch_words": 50})
    model.build_vocab(CORPUS[:40])
    alphas = []

    def recording_kernel(*args):
        alphas.append((args[0].size, args[2], args[3]))
        return 0.0, 0, 0

    monkeypatch.setattr(model, "_batch_trainer", lambda: (recording_kernel, 1))
    model.train(CORPUS[:40], epochs=2)
    assert all(a == b for _, a, b in alphas)
    starts = [a for _, a, _ in alphas]
    assert starts == sorted(starts, reverse=True) and starts[0] == model.config.alpha
    alphas.clear()
    model.train([[w for s in CORPUS[:40] for w in s]], epochs=1)  # one line of all their words
    (size, a, b), = alphas
    assert size > 2 * 50 and b < a  # decays inside the one long batch


def test_settings_assigned_as_attributes_are_used_as_in_gensim():
    base = Word2Vec(**SMALL, seed=3)
    base.build_vocab(CORPUS)
    base.train(CORPUS, epochs=1)
    changed = Word2Vec(**SMALL, seed=3)
    changed.window = 1  # gensim users set these on the model
    changed.negative = 3
    changed.build_vocab(CORPUS)
    changed.train(CORPUS, epochs=1)
    assert changed.window == 1 and changed.config.negative == 3
    assert not np.array_equal(base.wv.vectors, changed.wv.vectors)
    direct = Word2Vec(**{**SMALL, "window": 1, "negative": 3}, seed=3)
    direct.build_vocab(CORPUS)
    direct.train(CORPUS, epochs=1)
    np.testing.assert_array_equal(changed.wv.vectors, direct.wv.vectors)
    with pytest.raises(ValueError, match="window must be an integer"):
        changed.window = 0  # validated as in the constructor
    with pytest.raises(ValueError, match="vector_size cannot change after build_vocab"):
        changed.vector_size = 16
    changed.sample = 1e-5  # the subsampling table follows
    assert changed.keep_probability.min() < 1.0


def test_a_later_train_calls_only_its_own_callbacks_as_gensim():
    calls = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def on_epoch_end(self, model):
            calls.append(self.name)

    model = Word2Vec(CORPUS, callbacks=[Recorder("constructor")], **{**SMALL, "epochs": 2})
    assert calls == ["constructor"] * 2
    model.train(CORPUS, epochs=1, callbacks=[Recorder("later")])
    assert calls == ["constructor"] * 2 + ["later"]


def test_compute_loss_is_accepted_and_the_loss_is_there():
    model = Word2Vec(CORPUS, compute_loss=True, **SMALL)
    model.train(CORPUS, epochs=1, compute_loss=True)
    assert model.get_latest_training_loss() > 0


def test_a_huge_window_allocates_only_what_sentences_can_hold():
    model = Word2Vec(CORPUS, **{**SMALL, "window": 2**31 - 1})
    assert np.isfinite(model.wv.vectors).all()


def test_numpy_string_tokens_give_str_keys():
    model = Word2Vec([np.array(s) for s in CORPUS], **SMALL)
    assert all(type(k) is str for k in model.wv.index_to_key)


@pytest.mark.parametrize("bad", [None, 3])
def test_a_sentence_that_is_not_a_list_of_tokens_is_named(bad):
    with pytest.raises(TypeError, match=r"sentence 2 is .* not a list of tokens"):
        Word2Vec([CORPUS[0], bad], **SMALL)


def test_max_vocab_size_that_prunes_everything_is_named():
    # each sentence 20 new words, each once: the second prune (counts below 2) drops them all
    corpus = [[f"a{i}" for i in range(20)], [f"b{i}" for i in range(20)]]
    with pytest.raises(ValueError, match="max_vocab_size pruned every word"):
        Word2Vec(corpus, **{**SMALL, "max_vocab_size": 5})


@pytest.mark.parametrize("max_final_vocab", [1, 5, 12, 1000])
def test_max_final_vocab_keeps_gensims_vocabulary(max_final_vocab):
    gensim = pytest.importorskip("gensim")
    ours = Word2Vec(**{**SMALL, "min_count": 2}, max_final_vocab=max_final_vocab)
    ours.build_vocab(CORPUS)
    theirs = gensim.models.Word2Vec(vector_size=8, min_count=2, max_final_vocab=max_final_vocab,
                                    workers=1)
    theirs.build_vocab(CORPUS)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    assert ours.effective_min_count == theirs.effective_min_count


@pytest.mark.parametrize("ns_exponent", [0.0, 0.5, 1.0, -0.5])
def test_ns_exponent_gives_gensims_noise_table(ns_exponent):
    gensim = pytest.importorskip("gensim")
    ours = Word2Vec(**SMALL, ns_exponent=ns_exponent)
    ours.build_vocab(CORPUS)
    theirs = gensim.models.Word2Vec(vector_size=8, min_count=1, ns_exponent=ns_exponent,
                                    workers=1)
    theirs.build_vocab(CORPUS)
    np.testing.assert_array_equal(ours.cum_table, theirs.cum_table)
    before = ours.cum_table
    ours.ns_exponent = 0.75  # assigned later: the table follows
    assert not np.array_equal(before, ours.cum_table) or ns_exponent == 0.75
    with pytest.raises(ValueError, match="ns_exponent must be a finite number"):
        Word2Vec(ns_exponent=float("nan"))


@pytest.mark.parametrize("max_vocab_size", [None, 6])
def test_trim_rule_keeps_and_discards_as_gensim(max_vocab_size):
    gensim = pytest.importorskip("gensim")
    from gensim import utils

    from nnbasics.word2vec.vocab import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP

    assert (RULE_DEFAULT, RULE_DISCARD, RULE_KEEP) == (
        utils.RULE_DEFAULT, utils.RULE_DISCARD, utils.RULE_KEEP)
    top = Word2Vec(**SMALL)
    top.build_vocab(CORPUS)
    frequent, rare = top.wv.index_to_key[0], top.wv.index_to_key[-1]

    def rule(word, count, min_count):
        if word == frequent:
            return RULE_DISCARD
        if word == rare:
            return RULE_KEEP
        return RULE_DEFAULT

    ours = Word2Vec(**{**SMALL, "min_count": 3, "max_vocab_size": max_vocab_size})
    ours.build_vocab(CORPUS, trim_rule=rule)
    theirs = gensim.models.Word2Vec(vector_size=8, min_count=3, max_vocab_size=max_vocab_size,
                                    workers=1)
    theirs.build_vocab(CORPUS, trim_rule=rule)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    assert frequent not in ours.wv and rare in ours.wv
    made = Word2Vec(CORPUS, trim_rule=rule, **{**SMALL, "min_count": 3})  # constructor too
    assert frequent not in made.wv and rare in made.wv


def test_numpy_scalar_settings_are_saved_as_plain_numbers(tmp_path):
    model = Word2Vec(CORPUS, **{**SMALL, "window": np.int64(3)}, ns_exponent=np.float32(0.5))
    model.sample = np.float64(1e-4)
    model.save(tmp_path / "m.npz")
    loaded = Word2Vec.load(tmp_path / "m.npz")
    assert loaded.window == 3 and type(loaded.window) is int
    assert loaded.ns_exponent == 0.5 and loaded.sample == 1e-4


def test_an_ns_exponent_that_overflows_is_named():
    with pytest.raises(ValueError, match="overflows with the exponent 500"):
        Word2Vec(CORPUS, **SMALL, ns_exponent=500)


def test_an_empty_vocabulary_names_trim_rule_as_a_cause():
    with pytest.raises(ValueError, match=r"vocabulary would be empty.*trim_rule discarded words"):
        Word2Vec(CORPUS, **SMALL, trim_rule=lambda word, count, min_count: 1)  # discard all


def _full_window_pairs(sentences, window):
    """Skip-gram (center, context) pairs with every window whole: sum over words of the
    neighbours within ``window`` in the same sentence."""
    total = 0
    for sentence in sentences:
        n = len(sentence)
        total += sum(min(p, window) + min(n - 1 - p, window) for p in range(n))
    return total


@pytest.mark.parametrize("kind", ["negative", "hs", "full softmax"])
def test_shrink_windows_false_trains_every_pair_of_the_whole_window(kind):
    # no subsampling: with whole windows the pairs of an epoch are a count, not a draw
    settings = {**SMALL, "window": 3, "epochs": 1}
    if kind == "hs":
        settings.update(hs=1, negative=0)
    elif kind == "full softmax":
        settings.update(negative=0)
    whole = Word2Vec(CORPUS, **settings, shrink_windows=False)
    assert whole.epoch_pairs == [_full_window_pairs(CORPUS, 3)]
    shrunk = Word2Vec(CORPUS, **settings)
    assert shrunk.epoch_pairs[0] < whole.epoch_pairs[0]  # reduced windows hold fewer pairs


def test_shrink_windows_is_a_saved_setting(tmp_path):
    model = Word2Vec(CORPUS, **SMALL, shrink_windows=False)
    model.save(tmp_path / "m.npz")
    assert Word2Vec.load(tmp_path / "m.npz").shrink_windows is False
    with pytest.raises(ValueError, match="shrink_windows must be True or False"):
        Word2Vec(shrink_windows="no")


def test_cbow_mean_is_a_saved_setting_that_changes_training(tmp_path):
    settings = {**SMALL, "sg": 0, "epochs": 2}
    summed = Word2Vec(CORPUS, **settings, cbow_mean=0)
    averaged = Word2Vec(CORPUS, **settings)
    assert summed.cbow_mean == 0 and averaged.cbow_mean == 1
    assert not np.allclose(summed.wv.vectors, averaged.wv.vectors)
    summed.save(tmp_path / "m.npz")
    assert Word2Vec.load(tmp_path / "m.npz").cbow_mean == 0
    assigned = Word2Vec(**settings)  # model.cbow_mean = 0 before training, as in gensim
    assigned.cbow_mean = np.int64(0)
    assigned.build_vocab(CORPUS)
    assigned.train(CORPUS, total_examples=assigned.corpus_count, epochs=assigned.epochs)
    np.testing.assert_array_equal(assigned.wv.vectors, summed.wv.vectors)
    skipgram = Word2Vec(CORPUS, **{**settings, "sg": 1})
    assert np.array_equal(Word2Vec(CORPUS, **{**settings, "sg": 1}, cbow_mean=0).wv.vectors,
                          skipgram.wv.vectors)  # skip-gram has no context average


def test_save_goes_through_the_serialization_layer(tmp_path):
    from nnbasics.io.serialization import load_arrays

    model = Word2Vec(CORPUS[:50], **{**SMALL, "hs": 1})
    model.save(tmp_path / "m.npz")
    arrays, metadata = load_arrays(tmp_path / "m.npz", kind="word2vec")
    assert sorted(arrays) == ["counts", "keep_probability", "syn1", "syn1neg", "vectors"]
    assert metadata["index_to_key"] == model.wv.index_to_key
    assert metadata["config"]["hs"] == 1 and metadata["epochs_trained"] == 2
    from nnbasics.word2vec import KeyedVectors

    with pytest.raises(ValueError, match=r"holds a Word2Vec model .* Word2Vec\.load"):
        KeyedVectors.load(tmp_path / "m.npz")  # another kind of nnbasics file is named


def _save_as_nnbasics_0_1(model, path):
    """nnbasics 0.1's ``Word2Vec.save``, inlined: the arrays and a ``metadata`` member holding
    the JSON as uint8 bytes."""
    import json
    from dataclasses import asdict

    metadata = {
        "format": "nnbasics.word2vec", "version": 1, "config": asdict(model.config),
        "index_to_key": model.wv.index_to_key, "corpus_count": model.corpus_count,
        "corpus_total_words": model.corpus_total_words, "epochs_trained": model.epochs_trained,
        "epoch_losses": model.epoch_losses, "epoch_pairs": model.epoch_pairs,
    }
    blob = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    hs_state = {} if model.syn1 is None else {"syn1": model.syn1}
    np.savez(path, vectors=model.wv.vectors, syn1neg=model.syn1neg, counts=model.wv.counts,
             metadata=blob, **hs_state)


@pytest.mark.parametrize("hs", [0, 1])
def test_files_saved_by_nnbasics_0_1_still_load(tmp_path, hs):
    model = Word2Vec(CORPUS[:50], **{**SMALL, "hs": hs})
    old = tmp_path / "old.npz"
    _save_as_nnbasics_0_1(model, old)
    loaded = Word2Vec.load(old)
    assert loaded.config == model.config and loaded.wv.index_to_key == model.wv.index_to_key
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.syn1neg, model.syn1neg)
    assert (loaded.syn1 is None) == (hs == 0)
    assert loaded.epoch_losses == model.epoch_losses
    loaded.save(tmp_path / "new.npz")  # and saved again in the current format
    again = Word2Vec.load(tmp_path / "new.npz")
    np.testing.assert_array_equal(again.wv.vectors, model.wv.vectors)
    with np.load(old) as archive:
        arrays = dict(archive)
    arrays["metadata"] = np.frombuffer(b'{"format": "nnbasics.word2vec", "version": 7}',
                                       dtype=np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ValueError, match="version 7 is not supported"):
        Word2Vec.load(tmp_path / "future.npz")


def test_importing_word2vec_and_its_objectives_compiles_nothing():
    """numba is imported (and the kernels compiled) when training starts, not before."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import nnbasics, nnbasics.word2vec\n"
        "from nnbasics.word2vec.objectives import cbow, skipgram, "
        "neg_sampling_loss_and_gradient\n"
        "from nnbasics.word2vec import KeyedVectors, Word2Vec, reference, vocab\n"
        "loaded = sorted(m for m in sys.modules if m == 'numba' or m.startswith('numba.')\n"
        "                or m.startswith('nnbasics._accel'))\n"
        "print(loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("sorted_vocab", [1, 0])
@pytest.mark.parametrize("null_word", [0, 1])
def test_sorted_vocab_and_null_word_build_gensims_vocabulary(sorted_vocab, null_word):
    """Same words in the same order, counts, Huffman codes and points, subsampling and noise
    tables as gensim 4 with the same settings."""
    gensim = pytest.importorskip("gensim")
    settings = dict(vector_size=5, min_count=2, hs=1, negative=5, sample=1e-2,
                    sorted_vocab=sorted_vocab, null_word=null_word)
    ours = Word2Vec(**settings)
    ours.build_vocab(CORPUS)
    theirs = gensim.models.Word2Vec(**settings)
    theirs.build_vocab(CORPUS)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    assert ("\0" in ours.wv) == bool(null_word)
    assert ours.wv.counts.tolist() == [theirs.wv.get_vecattr(w, "count")
                                       for w in theirs.wv.index_to_key]
    for word in theirs.wv.index_to_key:
        for attr in ("code", "point"):
            mine, gensims = ours.wv.get_vecattr(word, attr), theirs.wv.get_vecattr(word, attr)
            np.testing.assert_array_equal(mine, gensims)
            assert mine.dtype == gensims.dtype
    sample_int = np.array([theirs.wv.get_vecattr(w, "sample_int")
                           for w in theirs.wv.index_to_key]) / (2**32 - 1)
    np.testing.assert_allclose(ours.keep_probability, sample_int, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.cum_table, theirs.cum_table, atol=1, rtol=0)


@pytest.mark.parametrize("sorted_vocab", [1, 0])
def test_sorted_vocab_and_null_word_are_saved_and_train(tmp_path, sorted_vocab):
    model = Word2Vec(CORPUS, **SMALL, sorted_vocab=sorted_vocab, null_word=1)
    first_seen = list(dict.fromkeys(w for sentence in CORPUS for w in sentence))
    assert (model.wv.index_to_key[:-1] == first_seen) == (not sorted_vocab)
    assert "\0" in model.wv and model.wv.get_vecattr("\0", "count") == 1
    model.save(tmp_path / "m.npz")
    loaded = Word2Vec.load(tmp_path / "m.npz")
    assert (loaded.sorted_vocab, loaded.null_word) == (sorted_vocab, 1)
    assert loaded.wv.index_to_key == model.wv.index_to_key
    np.testing.assert_array_equal(loaded.keep_probability, model.keep_probability)
    assert model.wv.most_similar("g0w0", topn=1)[0][0].startswith("g0")  # it learned


@pytest.mark.parametrize("name", ["sorted_vocab", "null_word"])
@pytest.mark.parametrize("value", [2, -1, 0.5, "yes", None])
def test_sorted_vocab_and_null_word_are_validated(name, value):
    with pytest.raises(ValueError, match=f"{name} must be 1 .* or 0"):
        Word2Vec(**{name: value})


def test_get_vecattr_code_and_point_need_hierarchical_softmax():
    model = Word2Vec(CORPUS[:30], **SMALL)
    with pytest.raises(KeyError, match=r"no Huffman tree .* hs=1"):
        model.wv.get_vecattr("g0w0", "code")
    hs = Word2Vec(CORPUS[:30], **{**SMALL, "hs": 1})
    code, point = hs.wv.get_vecattr("g0w0", "code"), hs.wv.get_vecattr("g0w0", "point")
    index = hs.wv.key_to_index["g0w0"]
    np.testing.assert_array_equal(code, hs.hs_tree.codes[index])
    np.testing.assert_array_equal(point, hs.hs_tree.points[index])
    code[:] = 7  # a copy: the tree the kernel reads is not changed through it
    assert hs.hs_tree.codes[index].max() <= 1


def test_each_loader_names_a_file_of_the_other_kind(tmp_path):
    """Word2Vec.load on vectors saved by KeyedVectors.save, and the reverse: a ValueError (and
    an AttributeError, as gensim raises) that says what the file is and how to load it."""
    from nnbasics.word2vec import KeyedVectors
    from nnbasics.word2vec.formats import WrongFileKindError

    model = Word2Vec(CORPUS[:30], **SMALL)
    model.wv.save(tmp_path / "v.kv")
    model.save(tmp_path / "m.model")
    with pytest.raises(ValueError, match=r"v.kv holds word vectors only .* KeyedVectors.load"):
        Word2Vec.load(tmp_path / "v.kv")
    with pytest.raises(AttributeError):  # gensim's test_persistence_..._standard_persistence
        Word2Vec.load(tmp_path / "v.kv")
    with pytest.raises(WrongFileKindError, match=r"m.model holds a Word2Vec model .* \.wv"):
        KeyedVectors.load(tmp_path / "m.model")
    assert KeyedVectors.load(tmp_path / "v.kv").index_to_key == model.wv.index_to_key


# -- gensim's signatures and small methods (issue #16) ------------------------------------------

@pytest.mark.parametrize("method, gensim_order", [
    ("build_vocab", ["corpus_iterable", "corpus_file", "update", "progress_per",
                     "keep_raw_vocab", "trim_rule"]),
    ("train", ["corpus_iterable", "corpus_file", "total_examples", "total_words", "epochs",
               "start_alpha", "end_alpha", "word_count", "queue_factor", "report_delay",
               "compute_loss", "callbacks"]),
])
def test_parameters_come_in_gensims_order(method, gensim_order):
    names = list(inspect.signature(getattr(Word2Vec, method)).parameters)[1:]
    assert names[:len(gensim_order)] == gensim_order
    gensim = pytest.importorskip("gensim")
    theirs = list(inspect.signature(getattr(gensim.models.Word2Vec, method)).parameters)[1:]
    assert [name for name in theirs if name != "kwargs"] == gensim_order


@pytest.mark.parametrize("how", ["build_vocab", "build_vocab_from_freq"])
def test_raw_vocab_reads_as_gensims_dict(how):
    """keep_raw_vocab=True keeps raw_vocab as gensim's {word: count}: indexed by word, sized,
    iterated in order of first occurrence, equal to gensim's dict (it was a RawCounts record)."""
    gensim = pytest.importorskip("gensim")
    sentences = [["b", "a", "b"], ["c", "a", "b", "d"]]
    settings = {"vector_size": 4, "min_count": 2, "workers": 1}
    ours, theirs = Word2Vec(**settings), gensim.models.Word2Vec(**settings)
    for model in (ours, theirs):
        if how == "build_vocab":
            model.build_vocab(sentences, keep_raw_vocab=True)
        else:
            model.build_vocab_from_freq({"b": 3, "a": 2, "c": 1, "d": 1}, keep_raw_vocab=True)
    assert ours.raw_vocab == dict(theirs.raw_vocab) == {"b": 3, "a": 2, "c": 1, "d": 1}
    assert list(ours.raw_vocab) == list(theirs.raw_vocab) and len(ours.raw_vocab) == 4
    assert ours.raw_vocab["c"] == 1 and dict(ours.raw_vocab.items()) == theirs.raw_vocab
    assert ours.wv.index_to_key == theirs.wv.index_to_key == ["b", "a"]


def test_build_vocab_and_train_positionally_as_in_gensim():
    model = Word2Vec(**SMALL)
    model.build_vocab(CORPUS[:50], None, False, 1000, False, None)
    model.build_vocab(CORPUS[50:60], None, True)  # update, the third parameter as in gensim
    _, raw = model.train(CORPUS[:60], None, 60, None, 1, 0.02, 0.01, 0, 2, 1.0, True, ())
    assert raw == sum(len(s) for s in CORPUS[:60]) and model.compute_loss is True


def test_estimate_memory_has_gensims_keys_and_the_arrays_sizes():
    model = Word2Vec(CORPUS, hs=1, negative=5, **SMALL)
    report = model.estimate_memory()
    n = len(model.wv)
    assert report["vectors"] == model.wv.vectors.nbytes == n * 8 * 4
    assert report["syn1"] == model.syn1.nbytes and report["syn1neg"] == model.syn1neg.nbytes
    assert report["vocab"] == 700 * n
    assert report["total"] == sum(v for k, v in report.items() if k != "total")
    assert set(Word2Vec(negative=5, hs=0).estimate_memory(100)) == {"vocab", "vectors",
                                                                    "syn1neg", "total"}
    report = {"other": 10}
    assert model.estimate_memory(0, report) is report  # 0: the vocabulary's size, as gensim
    assert report["vectors"] == model.wv.vectors.nbytes and report["other"] == 10
    assert report["total"] == sum(v for k, v in report.items() if k != "total")
    gensim = pytest.importorskip("gensim")
    ref = gensim.models.Word2Vec(vector_size=8, hs=1, negative=5)
    assert ref.estimate_memory(1234) == model.estimate_memory(1234)


def test_layer1_size_init_sims_and_compute_loss_as_gensim():
    model = Word2Vec(CORPUS[:40], compute_loss=True, **SMALL)
    assert model.layer1_size == 8 and model.compute_loss is True
    with pytest.warns(DeprecationWarning, match="init_sims"):
        model.init_sims(replace=True)
    np.testing.assert_allclose(np.linalg.norm(model.wv.vectors, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="build_vocab"), pytest.warns(DeprecationWarning):
        Word2Vec().init_sims()


def test_a_trains_settings_become_the_models_as_in_gensim():
    model = Word2Vec(CORPUS[:40], **SMALL)
    seen = []

    class Epochs:
        def on_epoch_end(self, m):
            seen.append((m.epochs, m.alpha, m.min_alpha))

    model.train(CORPUS[:40], epochs=3, start_alpha=0.01, end_alpha=0.002, callbacks=[Epochs()])
    assert seen == [(3, 0.01, 0.002)] * 3
    assert (model.epochs, model.alpha, model.min_alpha) == (3, 0.01, 0.002)
    again = Word2Vec(CORPUS[:40], **SMALL)
    again.train(CORPUS[:40], epochs=3, start_alpha=0.01, end_alpha=0.002)
    model.train(CORPUS[:40])  # the same schedule again, from the model's settings
    again.train(CORPUS[:40], epochs=3, start_alpha=0.01, end_alpha=0.002)
    np.testing.assert_array_equal(model.wv.vectors, again.wv.vectors)
    with pytest.raises(ValueError, match="alpha"):
        model.train(CORPUS[:40], start_alpha=-1.0)
    assert model.alpha == 0.01  # a refused call changes nothing
    gensim = pytest.importorskip("gensim")
    theirs = gensim.models.Word2Vec(CORPUS[:40], vector_size=8, min_count=1, epochs=2)
    theirs.train(CORPUS[:40], total_examples=40, epochs=3, start_alpha=0.01, end_alpha=0.002)
    assert (theirs.epochs, theirs.alpha, theirs.min_alpha) == (3, 0.01, 0.002)


def test_compute_loss_is_saved_with_the_model_as_in_gensim(tmp_path):
    from nnbasics.io.serialization import load_arrays, save_arrays

    for compute_loss in (True, False):
        Word2Vec(CORPUS[:40], compute_loss=compute_loss, **SMALL).save(tmp_path / "m.model")
        assert Word2Vec.load(tmp_path / "m.model").compute_loss is compute_loss
    # a file of an earlier nnbasics, without it: gensim's default
    Word2Vec(CORPUS[:40], compute_loss=True, **SMALL).save(tmp_path / "m.model")
    arrays, metadata = load_arrays(tmp_path / "m.model")
    del metadata["compute_loss"]
    save_arrays(tmp_path / "old.model", arrays,
                {k: v for k, v in metadata.items() if k not in ("format", "kind", "version")},
                kind="word2vec")
    assert Word2Vec.load(tmp_path / "old.model").compute_loss is False


def test_build_vocab_refuses_the_positional_order_of_earlier_nnbasics():
    # earlier: (corpus_iterable, corpus_file, trim_rule, update, ...); now gensim's
    # (corpus_iterable, corpus_file, update, progress_per, ...): the old calls must not
    # silently grow the vocabulary (a trim_rule read as update) or rebuild it (update=True
    # read as progress_per)
    model = Word2Vec(CORPUS[:40], **SMALL)
    words = list(model.wv.index_to_key)
    with pytest.raises(TypeError, match="by name"):
        model.build_vocab(CORPUS[40:60], None, lambda word, count, min_count: 0)
    with pytest.raises(TypeError, match="by name"):
        model.build_vocab(CORPUS[40:60], None, None, True)
    assert model.wv.index_to_key == words
