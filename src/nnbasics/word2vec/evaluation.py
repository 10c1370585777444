"""Evaluating word vectors as gensim does: analogies (3CosAdd, 3CosMul) and word-pair similarity.

:meth:`KeyedVectors.evaluate_word_analogies <nnbasics.word2vec.keyedvectors.KeyedVectors.
evaluate_word_analogies>` and :meth:`~nnbasics.word2vec.keyedvectors.KeyedVectors.
evaluate_word_pairs` document the contracts; this module holds their bodies.  Shape letters:
``V`` words, ``n`` questions in a block.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from itertools import chain

import numpy as np
from numpy.typing import NDArray

from nnbasics.word2vec.correlation import CorrelationResult, pearson, spearman
from nnbasics.word2vec.keyedvectors import KeyedVectors, _unit_rows

__all__ = ["word_analogies", "word_pairs"]


def _ok_vocab(kv: KeyedVectors, restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
    """Words allowed in evaluation; a case variant maps to its most frequent form."""
    ok_keys = kv.index_to_key[:restrict_vocab]
    if case_insensitive:
        return {k.upper(): kv.key_to_index[k] for k in reversed(ok_keys)}
    return {k: kv.key_to_index[k] for k in reversed(ok_keys)}


def word_analogies(
    kv: KeyedVectors,
    analogies: str | os.PathLike,
    restrict_vocab: int = 300_000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    similarity_function: str = "most_similar",
) -> tuple[float, list[dict]]:
    """:meth:`KeyedVectors.evaluate_word_analogies` of ``kv``."""
    if similarity_function not in _ANALOGY_OBJECTIVES:
        raise ValueError(f"similarity_function must be one of {sorted(_ANALOGY_OBJECTIVES)},"
                         f" got {similarity_function!r}")
    ok_vocab = _ok_vocab(kv, restrict_vocab, case_insensitive)
    normed = kv.get_normed_vectors()[:restrict_vocab]
    sections: list[dict] = []
    section: dict | None = None
    # questions in file order: (section, question, indices of a, b, c or None if unknown)
    questions: list[tuple[dict, tuple[str, str, str, str], tuple[int, int, int] | None]] = []
    with open(analogies, "rb") as handle:
        for line_no, raw in enumerate(handle):
            line = _decode_line(raw, analogies, line_no)
            if line.startswith(": "):
                if section:
                    sections.append(section)
                section = {"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []}
                continue
            if section is None:
                raise ValueError(
                    f"missing section header before line #{line_no} in {analogies}"
                )
            words = [w.upper() if case_insensitive else w for w in line.split()]
            if len(words) != 4:
                continue  # gensim skips malformed lines too
            a, b, c, expected = words
            known = all(w in ok_vocab for w in words)
            if known or dummy4unknown:
                indices = (ok_vocab[a], ok_vocab[b], ok_vocab[c]) if known else None
                questions.append((section, (a, b, c, expected), indices))
    answered = [indices for _, _, indices in questions if indices is not None]
    top5 = iter(_analogy_candidates(normed, np.array(answered, dtype=np.int64).reshape(-1, 3),
                                    objective=_ANALOGY_OBJECTIVES[similarity_function]))
    for section_of, (a, b, c, expected), indices in questions:
        if indices is None:  # dummy4unknown: an unknown word counts as a wrong answer
            section_of["incorrect"].append((a, b, c, expected))
            continue
        predicted = None
        for i in next(top5):  # gensim: the best of the top 5 not equal to a, b or c
            key = kv.index_to_key[i]
            predicted = key.upper() if case_insensitive else key
            if predicted in ok_vocab and predicted not in {a, b, c}:
                break
        outcome = "correct" if predicted == expected else "incorrect"
        section_of[outcome].append((a, b, c, expected))
    if section:
        sections.append(section)
    total = {
        "section": "Total accuracy",
        "correct": list(chain.from_iterable(s["correct"] for s in sections)),
        "incorrect": list(chain.from_iterable(s["incorrect"] for s in sections)),
    }
    n_answered = len(total["correct"]) + len(total["incorrect"])
    score = len(total["correct"]) / n_answered if n_answered else 0.0
    sections.append(total)
    return score, sections


def word_pairs(
    kv: KeyedVectors,
    pairs: str | os.PathLike,
    delimiter: str = "\t",
    restrict_vocab: int = 300_000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    encoding: str = "utf8",
) -> tuple[CorrelationResult, CorrelationResult, float]:
    """:meth:`KeyedVectors.evaluate_word_pairs` of ``kv``."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    ok_vocab = _ok_vocab(kv, restrict_vocab, case_insensitive)
    normed = kv.get_normed_vectors()
    gold: list[float] = []
    model: list[float] = []
    oov = 0
    with open(pairs, "rb") as handle:
        for line in _text_lines(handle, pairs, encoding):
            if not line or line.startswith("#"):
                continue
            try:
                a, b, score = line.split(delimiter)
                score = float(score)
            except ValueError:
                continue
            if case_insensitive:
                a, b = a.upper(), b.upper()
            if a not in ok_vocab or b not in ok_vocab:
                oov += 1
                if dummy4unknown:
                    gold.append(score)
                    model.append(0.0)
                continue
            gold.append(score)
            model.append(float(np.dot(normed[ok_vocab[a]], normed[ok_vocab[b]])))
    if len(gold) < 2:
        raise ValueError(f"{pairs}: fewer than 2 word pairs with both words in the vocabulary")
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    return pearson(gold, model), spearman(gold, model), oov_ratio


def _text_lines(handle, path: str | os.PathLike, encoding: str) -> Iterator[str]:
    """The lines of a file opened in binary mode, decoded from ``encoding``.  An encoding that
    writes a newline as the byte ``\n`` (UTF-8, Latin-1, ...) is decoded line by line, so that an
    error names its line; another (UTF-16, ...) is decoded as a whole stream."""
    if "\n".encode(encoding) == b"\n":
        for line_no, raw in enumerate(handle):
            yield _decode_line(raw, path, line_no, encoding)
        return
    try:
        yield from io.TextIOWrapper(handle, encoding=encoding)
    except UnicodeError as error:  # a decoding error, or UTF-16's missing BOM
        reason = getattr(error, "reason", error)
        raise ValueError(f"{os.fspath(path)} is not valid {encoding} ({reason})") from None


def _decode_line(raw: bytes, path: str | os.PathLike, line_no: int,
                 encoding: str = "utf8") -> str:
    """Line ``line_no`` (0-based) of an evaluation file as text; ValueError naming the file and
    line if it is not valid in ``encoding``."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        raise ValueError(f"{os.fspath(path)}: line {line_no + 1} is not valid {name} "
                         f"(byte {error.start + 1})") from None


def _scores_3cosadd(normed: NDArray[np.float32], ia: NDArray, ib: NDArray,
                    ic: NDArray) -> NDArray[np.float32]:
    """3CosAdd scores (n, V): ``normed . unit(mean(b, c, -a))``, as most_similar computes."""
    # the same float32 operations, in the same order, as most_similar's mean of the inputs
    query = _unit_rows(np.mean(np.stack([normed[ib], normed[ic], -normed[ia]]), axis=0))
    return query @ normed.T


def _scores_3cosmul(normed: NDArray[np.float32], ia: NDArray, ib: NDArray,
                    ic: NDArray) -> NDArray[np.float32]:
    """3CosMul scores (n, V), as most_similar_cosmul computes them."""
    shifted_a, shifted_b, shifted_c = ((1 + normed[i] @ normed.T) / 2 for i in (ia, ib, ic))
    return shifted_b * shifted_c / (shifted_a + 1e-6)


#: the objectives the analogy evaluation answers by, under gensim's method names
_ANALOGY_OBJECTIVES = {"most_similar": _scores_3cosadd, "most_similar_cosmul": _scores_3cosmul}


def _analogy_candidates(
    normed: NDArray[np.float32], questions: NDArray[np.int64], topn: int = 5,
    objective=_scores_3cosadd, block_scores: int = 1 << 24,
) -> list[list[int]]:
    r"""For each question ``(a, b, c)`` (row indices), the ``topn`` best rows by ``objective``.

    Row ``q`` of the result lists, best first, the indices ``i`` (``a``, ``b``, ``c`` excluded)
    of the largest scores, by default 3CosAdd, ``normed[i] . unit(unit(b) - unit(a) +
    unit(c))``, as :meth:`KeyedVectors.most_similar` would rank them; of equal scores, the lower
    index first.  Questions are scored in blocks of at most ``block_scores`` scores (by default
    2**24, 64 MiB of float32), one matrix product per block.
    """
    n_rows = normed.shape[0]
    k = min(topn, max(n_rows - 3, 0))
    if k == 0 or questions.shape[0] == 0:
        return [[] for _ in range(questions.shape[0])]
    block = max(1, block_scores // n_rows)
    out: list[list[int]] = []
    for start in range(0, questions.shape[0], block):
        ia, ib, ic = questions[start:start + block].T
        scores = objective(normed, ia, ib, ic)  # (n, V)
        rows = np.arange(len(ia))
        for excluded in (ia, ib, ic):
            scores[rows, excluded] = -np.inf
        out.extend(_pop_best_inplace(scores, k).tolist())
    return out


def _pop_best_inplace(scores: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """Column indices (n, k) of the ``k`` largest ``scores`` (n, V) of each row, best first;
    of equal scores the lower index first.  Overwrites each one found with ``-inf``.

    ``k`` passes of ``argmax`` (each a linear scan, k of them cost far less than a partition of
    every row when ``k`` is a handful).
    """
    rows = np.arange(scores.shape[0])
    best = np.empty((scores.shape[0], k), dtype=np.intp)
    for rank in range(k):
        best[:, rank] = np.argmax(scores, axis=1)
        scores[rows, best[:, rank]] = -np.inf
    return best
