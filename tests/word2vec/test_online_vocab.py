"""Word2Vec's vocabulary steps as gensim's: scan_vocab / prepare_vocab, build_vocab_from_freq,
online growth (build_vocab(update=True)), reset_from, and what train() says about a hand-set wv."""

import numpy as np
import pytest

from nnbasics.word2vec import KeyedVectors, Word2Vec
from nnbasics.word2vec.online import merge_counts, vocab_report
from nnbasics.word2vec.vocab import RULE_DISCARD, RawCounts, VocabularyNotBuiltError

OLD = [["a", "b", "a", "c"], ["a", "b"], ["d"]]  # a 3, b 2, c 1, d 1
NEW = [["b", "e", "e"], ["f", "a"]]  # b 1, e 2, f 1, a 1
SMALL = {"vector_size": 6, "min_count": 1, "seed": 3, "workers": 1, "sample": 0}


def test_merge_counts_adds_known_words_and_appends_new_ones_in_first_seen_order():
    raw = RawCounts({"b": 1, "e": 2, "f": 1, "a": 1}, 5, 2, 1)
    update = merge_counts({"a": 0, "b": 1, "c": 2}, np.array([3, 2, 1]), raw, min_count=1)
    assert update.counts.tolist() == [4, 3, 1]
    assert update.new_words == ["e", "f"] and update.new_counts.tolist() == [2, 1]
    # retained in the new corpus (its subsampling): b, e, f, a at their grown indices
    assert update.retained.tolist() == [1, 3, 4, 0]
    assert update.retained_counts.tolist() == [1, 2, 1, 1]
    # min_count applies to the new words' own counts; a known word adds its count whatever it is
    update = merge_counts({"a": 0}, np.array([3]), raw, min_count=2)
    assert update.counts.tolist() == [4] and update.new_words == ["e"]
    update = merge_counts({"a": 0}, np.array([3]), raw, 1,
                          trim_rule=lambda w, n, m: RULE_DISCARD if w == "e" else 0)
    assert update.new_words == ["b", "f"] and update.counts.tolist() == [4]


def test_online_update_keeps_trained_vectors_and_appends_new_words():
    model = Word2Vec(OLD, **SMALL, hs=1, negative=2)
    before = model.wv.vectors.copy()
    wv = model.wv
    model.build_vocab(NEW, update=True)
    assert model.wv is wv  # grown in place, as gensim's
    # equal counts (c, d) in reverse order of first occurrence, as gensim sorts
    assert model.wv.index_to_key == ["a", "b", "d", "c", "e", "f"]
    assert [model.wv.get_vecattr(w, "count") for w in "abcdef"] == [4, 3, 1, 1, 2, 1]
    np.testing.assert_array_equal(model.wv.vectors[:4], before)  # trained rows untouched
    assert model.syn1neg.shape == model.syn1.shape == (6, 6)
    assert not model.syn1neg[4:].any() and np.abs(model.wv.vectors[4:]).max() <= 1 / 6
    assert model.corpus_count == 2 and model.corpus_total_words == 5  # the new corpus's
    assert len(model.hs_tree.lengths) == 6 and model.cum_table.size == 6
    model.train(NEW, total_examples=model.corpus_count, epochs=2)
    assert not np.array_equal(model.wv.vectors[4:], before[:2])
    assert np.isfinite(model.wv.vectors).all()


@pytest.mark.parametrize("settings", [{"min_count": 2}, {"min_count": 1, "max_final_vocab": 3},
                                      {"min_count": 2, "hs": 1, "negative": 0}])
def test_online_update_adds_every_new_occurrence_of_known_words_as_gensim(settings):
    """A known word below min_count in the update corpus still counts its occurrences there, and
    a trim rule that discards it does not undo that (gensim adds raw_vocab.get(word, 0) to every
    word); the noise table and Huffman codes follow the same counts."""
    gensim = pytest.importorskip("gensim")
    old = [["a", "a", "b", "b", "c", "c", "d"]] * 3
    new = [["a", "e", "e", "f", "f", "b", "g"]]  # a, b once each: below min_count=2 here
    rule = lambda word, count, min_count: 1 if word == "b" else 0  # noqa: E731 (RULE_DISCARD)
    kwargs = {"vector_size": 4, "workers": 1, "seed": 1, **settings}
    theirs = gensim.models.Word2Vec(**kwargs)
    ours = Word2Vec(**kwargs)
    for model in (theirs, ours):
        model.build_vocab(old)
        model.build_vocab(new, update=True, trim_rule=rule)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    counts = [theirs.wv.get_vecattr(word, "count") for word in theirs.wv.index_to_key]
    assert ours.wv.counts.tolist() == counts
    assert counts[ours.wv.key_to_index["a"]] == 7 and counts[ours.wv.key_to_index["b"]] == 7
    if theirs.negative:
        np.testing.assert_array_equal(ours.cum_table, theirs.cum_table)
    if theirs.hs:
        for word in theirs.wv.index_to_key:
            index = ours.wv.key_to_index[word]
            for attr, paths in (("code", ours.hs_tree.codes), ("point", ours.hs_tree.points)):
                assert paths[index].tolist() == theirs.wv.get_vecattr(word, attr).tolist()


@pytest.mark.parametrize("sample", [1e-3, 0.05, 0.0, 3.0])
def test_online_update_subsamples_as_gensim(sample):
    """After build_vocab(update=True) the words that pass min_count in the new corpus take keep
    probabilities from their counts there (gensim's sample_int), the others keep theirs."""
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    zipf = [f"w{int(k)}" for k in rng.zipf(1.3, 4000) if k < 300]
    old = [zipf[i:i + 20] for i in range(0, 3000, 20)]
    new = [[*zipf[i:i + 20], "fresh", "fresh", "rare"] for i in range(3000, len(zipf), 20)]
    kwargs = {"vector_size": 4, "workers": 1, "seed": 1, "min_count": 3, "sample": sample}
    theirs, ours = gensim.models.Word2Vec(**kwargs), Word2Vec(**kwargs)
    for model in (theirs, ours):
        model.build_vocab(old)
        model.build_vocab(new, update=True)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    gensims = np.array([theirs.wv.get_vecattr(w, "sample_int") for w in theirs.wv.index_to_key],
                       dtype=np.float64) / (2**32 - 1)
    np.testing.assert_allclose(ours.keep_probability, gensims, rtol=1e-6, atol=1e-9)
    if sample == 1e-3:  # the update's words were thinned by the update's own total
        from nnbasics.word2vec.vocab import keep_probabilities

        assert not np.allclose(ours.keep_probability,
                               keep_probabilities(ours.wv.counts, sample))


def test_the_updated_subsampling_table_is_saved(tmp_path):
    model = Word2Vec(OLD * 20, **{**SMALL, "sample": 0.1})
    model.build_vocab(NEW * 5, update=True)
    expected = model.keep_probability.copy()
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(Word2Vec.load(tmp_path / "m.npz").keep_probability, expected)
    # a file of an earlier nnbasics, without the table: the counts' table
    from nnbasics.io.serialization import load_arrays, save_arrays

    arrays, metadata = load_arrays(tmp_path / "m.npz")
    del arrays["keep_probability"]
    save_arrays(tmp_path / "old.npz", arrays,
                {k: v for k, v in metadata.items() if k not in ("format", "kind", "version")},
                kind="word2vec", version=metadata["version"])
    old = Word2Vec.load(tmp_path / "old.npz")
    fresh = Word2Vec(**{**SMALL, "sample": 0.1})
    fresh.build_vocab(OLD * 20 + NEW * 5)
    np.testing.assert_array_equal(old.keep_probability, fresh.keep_probability)
    arrays["keep_probability"] = np.full(len(expected), 2.0, np.float32)
    save_arrays(tmp_path / "bad.npz", arrays,
                {k: v for k, v in metadata.items() if k not in ("format", "kind", "version")},
                kind="word2vec", version=metadata["version"])
    with pytest.raises(ValueError, match="keep_probability"):
        Word2Vec.load(tmp_path / "bad.npz")


def test_online_update_from_a_file_and_after_save(tmp_path):
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("\n".join(" ".join(s) for s in OLD) + "\n", encoding="utf-8")
    new.write_text("\n".join(" ".join(s) for s in NEW) + "\n", encoding="utf-8")
    model = Word2Vec(corpus_file=old, **SMALL)
    model.save(tmp_path / "m.npz")
    model = Word2Vec.load(tmp_path / "m.npz")
    model.build_vocab(corpus_file=new, update=True)
    model.train(corpus_file=new, total_words=model.corpus_total_words, epochs=1)
    assert len(model.wv) == 6 and model.wv.get_vecattr("e", "count") == 2


def test_update_needs_a_built_vocabulary():
    with pytest.raises(ValueError, match="build it first"):
        Word2Vec(**SMALL).build_vocab(NEW, update=True)


@pytest.mark.parametrize("step", ["train", "update"])
def test_steps_before_build_vocab_raise_what_gensim_raises_too(step):
    """gensim raises RuntimeError for train() or build_vocab(update=True) before build_vocab;
    nnbasics' error is a ValueError and that RuntimeError (VocabularyNotBuiltError)."""
    gensim = pytest.importorskip("gensim")
    calls = {"train": lambda m: m.train(OLD, total_examples=len(OLD), epochs=1),
             "update": lambda m: m.build_vocab(OLD, update=True)}
    with pytest.raises(RuntimeError):
        calls[step](gensim.models.Word2Vec(vector_size=4, min_count=1))
    with pytest.raises(VocabularyNotBuiltError, match="build") as raised:
        calls[step](Word2Vec(**SMALL))
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, RuntimeError)


def test_scan_then_prepare_reports_gensims_figures_and_max_final_vocab():
    model = Word2Vec(**{**SMALL, "min_count": 2}, max_final_vocab=1)
    assert model.scan_vocab(OLD) == (7, 3)  # (total words, sentences)
    report = model.prepare_vocab(dry_run=True)
    # max_final_vocab=1 raises min_count to 3: only "a" (3) stays
    assert report["num_retained_words"] == 1 and report["retain_total"] == 3
    assert report["drop_unique"] == 3 and report["drop_total"] == 4
    assert model.wv is None  # a dry run builds nothing
    model.prepare_vocab()
    assert model.effective_min_count == 3 and model.wv.index_to_key == ["a"]
    assert model.raw_vocab is None  # dropped unless keep_raw_vocab


def test_prepare_vocab_keeps_and_applies_the_min_count_and_sample_it_is_given():
    """gensim's prepare_vocab(min_count=, sample=) stores both and subsamples with that sample;
    nnbasics reported with it but built the subsampling table with the model's own."""
    gensim = pytest.importorskip("gensim")
    corpus = [["a"] * 40 + ["b"] * 5 + ["c", "d", "d"]]
    theirs = gensim.models.Word2Vec(vector_size=4, min_count=1, sample=1e-3)
    ours = Word2Vec(vector_size=4, min_count=1, sample=1e-3)
    for model in (theirs, ours):
        model.scan_vocab(corpus)
        assert model.prepare_vocab(min_count=2, sample=0.2, dry_run=True)["num_retained_words"] == 3
        assert (model.min_count, model.sample) == (1, 1e-3)  # a dry run changes nothing
        model.prepare_vocab(min_count=2, sample=0.2)
    assert (ours.min_count, ours.sample) == (theirs.min_count, theirs.sample) == (2, 0.2)
    assert ours.wv.index_to_key == theirs.wv.index_to_key == ["a", "b", "d"]
    sample_int = [theirs.wv.get_vecattr(w, "sample_int") for w in theirs.wv.index_to_key]
    np.testing.assert_allclose(ours.keep_probability, np.array(sample_int) / (2**32 - 1),
                               rtol=1e-6)


def test_vocab_report_counts_subsampled_words():
    raw = RawCounts({"x": 1000, "y": 1}, 1001, 1, 1)
    report = vocab_report(raw, min_count=1, sample=1e-3)
    keep_x = (np.sqrt(1000 / 1.001) + 1) * 1.001 / 1000  # threshold t = 1e-3 * 1001
    assert report["downsample_unique"] == 1
    assert report["downsample_total"] == int(keep_x * 1000 + 1)


def test_build_vocab_from_freq_then_update():
    model = Word2Vec(**SMALL, hs=1)
    model.build_vocab_from_freq({"x": 3, "y": 5, "z": 1}, corpus_count=4)
    assert model.wv.index_to_key == ["y", "x", "z"] and model.corpus_count == 4
    model.build_vocab_from_freq({"x": 1, "w": 2}, update=True)
    assert model.wv.index_to_key == ["y", "x", "z", "w"]
    assert model.wv.counts.tolist() == [5, 4, 1, 2]
    with pytest.raises(ValueError, match="integer >= 0"):
        model.build_vocab_from_freq({"x": -1})


def test_reset_from_takes_the_vocabulary_and_starts_new_vectors():
    model = Word2Vec(OLD, **SMALL)
    other = Word2Vec(NEW, **{**SMALL, "seed": 9})
    model.reset_from(other)
    assert model.wv.key_to_index == other.wv.key_to_index
    assert model.wv.counts.tolist() == other.wv.counts.tolist()
    assert model.corpus_count == other.corpus_count and model.epochs_trained == 0
    assert not model.syn1neg.any() and model.vector_size == 6


def test_train_says_what_is_missing_when_wv_was_assigned_by_hand(tmp_path):
    trained = Word2Vec(OLD, **SMALL)
    trained.wv.save_word2vec_format(tmp_path / "v.txt")
    model = Word2Vec(**SMALL)
    model.wv = KeyedVectors.load_word2vec_format(tmp_path / "v.txt")
    with pytest.raises(ValueError, match="no syn1neg, keep_probability for the 4 words"):
        model.train(OLD)


def test_load_is_called_on_the_class(tmp_path):
    model = Word2Vec(OLD, **SMALL)
    model.save(tmp_path / "m.npz")
    with pytest.raises(AttributeError, match="called on the class"):
        model.load(tmp_path / "m.npz")
    assert len(Word2Vec.load(tmp_path / "m.npz").wv) == 4


def test_manual_learning_rate_decay_between_train_calls():
    """The gensim tutorial's loop: alpha passes below min_alpha between the two assignments."""
    model = Word2Vec(**SMALL, alpha=0.025, min_alpha=0.025)
    model.build_vocab(OLD)
    for _ in range(3):
        model.train(OLD, total_examples=model.corpus_count, epochs=1)
        model.alpha -= 0.002
        model.min_alpha = model.alpha
    assert model.epochs_trained == 3 and model.alpha == pytest.approx(0.019)
    with pytest.raises(ValueError, match="min_alpha >= 0"):
        model.min_alpha = -0.1
