"""Small files in the Stanford Sentiment Treebank's format, written by the tests.

:func:`write_synthetic_sst` writes a treebank whose sentences are drawn from a hidden mood (0-4):
each word comes from the mood's own words with probability ``signal``, else from words shared
by every mood.  Word vectors trained on its sentences place each mood's words together, so a
sentence's mean vector tells its class: a data set on which the whole pipeline (word2vec,
sentence features, softmax regression) has something to learn, and quickly.  The files carry the
treebank's quirks: ``-LRB-``/``-RRB-`` in the sentences but brackets in ``dictionary.txt``,
an accented word as mojibake in the sentences but as itself in ``dictionary.txt``, capitals,
a byte-order mark, sub-phrases in the dictionary that are not sentences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOOD_WORDS = [
    [f"awful{i}" for i in range(8)],
    [f"dull{i}" for i in range(8)],
    [f"plain{i}" for i in range(8)],
    [f"nice{i}" for i in range(8)],
    [f"superb{i}" for i in range(8)],
]
SHARED_WORDS = ["the", "film", "a", "is", "of", "and", "movie", "it", "story", "this"]
#: positivity written for each mood: inside the class, away from its thresholds
MOOD_POSITIVITY = (0.1, 0.3, 0.5, 0.7, 0.9)


def write_sst(directory: Path, sentences: list[str], positivity: list[float],
              split: list[int], extra_phrases: dict[str, float] | None = None,
              dictionary_form=None) -> Path:
    """Write the four files for ``sentences`` (as written in datasetSentences.txt).

    ``dictionary_form(sentence)`` gives the phrase as dictionary.txt writes it (default: the
    brackets and mojibake undone, as in the real files).  Phrase ids are shuffled so that they
    differ from sentence indices.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if dictionary_form is None:
        def dictionary_form(sentence):
            words = [w.encode("latin-1").decode("utf-8") if _is_mojibake(w) else w
                     for w in sentence.split(" ")]
            return " ".join(words).replace("-LRB-", "(").replace("-RRB-", ")")
    phrases = {dictionary_form(s): p for s, p in zip(sentences, positivity, strict=True)}
    phrases.update(extra_phrases or {})
    ids = np.random.default_rng(0).permutation(len(phrases))
    (directory / "datasetSentences.txt").write_text(
        "\ufeffsentence_index\tsentence\n"
        + "".join(f"{i}\t{s}\n" for i, s in enumerate(sentences, start=1)), encoding="utf-8")
    (directory / "dictionary.txt").write_text(
        "".join(f"{phrase}|{pid}\n" for phrase, pid in zip(phrases, ids, strict=True)),
        encoding="utf-8")
    (directory / "sentiment_labels.txt").write_text(
        "phrase ids|sentiment values\n"
        + "".join(f"{pid}|{value:g}\n" for pid, value in
                  sorted(zip(ids, phrases.values(), strict=True))), encoding="utf-8")
    (directory / "datasetSplit.txt").write_text(
        "sentence_index,splitset_label\n"
        + "".join(f"{i},{code}\n" for i, code in enumerate(split, start=1)), encoding="utf-8")
    return directory


def _is_mojibake(word: str) -> bool:
    try:
        return word.encode("latin-1").decode("utf-8") != word
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False


def synthetic_sentences(n: int, seed: int = 0, signal: float = 0.5):
    """``n`` sentences (token lists), their moods (n,) and split codes (1 train, 2 test, 3 dev:
    70 / 20 / 10 %), seeded."""
    rng = np.random.default_rng(seed)
    moods = rng.integers(0, 5, size=n)
    sentences = []
    for mood in moods:
        length = int(rng.integers(4, 12))
        own = rng.random(length) < signal
        words = [MOOD_WORDS[mood][rng.integers(8)] if mine else
                 SHARED_WORDS[rng.integers(len(SHARED_WORDS))] for mine in own]
        sentences.append(words)
    split = rng.choice([1, 2, 3], size=n, p=[0.7, 0.2, 0.1])
    return sentences, moods, split


def write_synthetic_sst(directory: Path, n: int = 1500, seed: int = 0,
                        signal: float = 0.5) -> Path:
    """A synthetic treebank of ``n`` sentences in ``directory`` (see the module docstring).

    The first sentences carry the quirks: brackets, a mojibake word, capitals.
    """
    sentences, moods, split = synthetic_sentences(n, seed, signal)
    texts = [" ".join(words) for words in sentences]
    texts[0] = "The -LRB- " + texts[0] + " -RRB- ."
    texts[1] = texts[1] + " Caf\u00c3\u00a9"  # "Café" as the treebank's sentences write it
    positivity = [MOOD_POSITIVITY[m] for m in moods]
    extra = {"superb0 nice0": 0.8, "awful1": 0.05}  # sub-phrases: not sentences
    return write_sst(directory, texts, positivity, list(split), extra)
