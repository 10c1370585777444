"""The Huffman tree of :func:`nnbasics.word2vec.vocab.huffman_tree`, compiled (numba).

The same binary-heap operations as CPython's ``heapq`` (``heapify``, ``heappop``, ``heappush``:
its ``_siftup`` / ``_siftdown``, which the C module ``_heapq`` follows step for step), on nodes
compared by count alone, with ``<`` only.  Equal counts therefore come out of the heap in exactly
the order ``heapq`` gives them, which is what gensim's tree depends on; the pure-Python replay with
``heapq`` itself is ``nnbasics.word2vec.vocab._huffman_tree_reference``, and the tests check
that both give the same tree.  Cost: :math:`O(V \\log V)` compiled steps instead of as many Python
comparisons.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["huffman_merges", "huffman_paths"]


@njit(nogil=True, cache=True)
def _siftdown(counts, ids, startpos: int, pos: int) -> None:
    """heapq._siftdown: move the item at ``pos`` up while it is smaller than its parent."""
    new_count, new_id = counts[pos], ids[pos]
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        if new_count < counts[parentpos]:
            counts[pos], ids[pos] = counts[parentpos], ids[parentpos]
            pos = parentpos
            continue
        break
    counts[pos], ids[pos] = new_count, new_id


@njit(nogil=True, cache=True)
def _siftup(counts, ids, size: int, pos: int) -> None:
    """heapq._siftup: move the smaller child up to a leaf, then sift the item down into place."""
    startpos = pos
    new_count, new_id = counts[pos], ids[pos]
    childpos = 2 * pos + 1
    while childpos < size:
        rightpos = childpos + 1
        if rightpos < size and not counts[childpos] < counts[rightpos]:
            childpos = rightpos
        counts[pos], ids[pos] = counts[childpos], ids[childpos]
        pos = childpos
        childpos = 2 * pos + 1
    counts[pos], ids[pos] = new_count, new_id
    _siftdown(counts, ids, startpos, pos)


@njit(nogil=True, cache=True)
def _heappop(counts, ids, size: int) -> tuple[np.int64, np.int64, int]:
    """heapq.heappop on the first ``size`` entries: return (count, id, new size)."""
    size -= 1
    last_count, last_id = counts[size], ids[size]
    if size == 0:
        return last_count, last_id, size
    top_count, top_id = counts[0], ids[0]
    counts[0], ids[0] = last_count, last_id
    _siftup(counts, ids, size, 0)
    return top_count, top_id, size


@njit(nogil=True, cache=True)
def huffman_merges(word_counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Merge the two smallest nodes ``V - 1`` times; return each node's parent and child bit.

    Node ids: words ``0 .. V-1``, the ``i``-th merge creates node ``V + i``; the first node popped
    is child 0 of the merge, the second child 1.  ``parent`` and ``bit`` have ``2V - 1`` entries
    (the root's are 0).
    """
    n_words = word_counts.shape[0]
    counts = word_counts.copy()  # the heap, as two parallel arrays
    ids = np.arange(n_words).astype(np.int64)
    for i in range(n_words // 2 - 1, -1, -1):  # heapq.heapify
        _siftup(counts, ids, n_words, i)
    parent = np.zeros(2 * n_words - 1, dtype=np.int64)
    bit = np.zeros(2 * n_words - 1, dtype=np.uint8)
    size = n_words
    for i in range(n_words - 1):
        count1, id1, size = _heappop(counts, ids, size)
        count2, id2, size = _heappop(counts, ids, size)
        node = n_words + i
        parent[id1] = node
        parent[id2] = node
        bit[id2] = 1
        counts[size], ids[size] = count1 + count2, node  # heapq.heappush
        size += 1
        _siftdown(counts, ids, 0, size - 1)
    return parent, bit


@njit(nogil=True, cache=True)
def huffman_paths(
    word_counts: NDArray[np.int64],
) -> tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.int64]]:
    """Every word's path, root first: ``(code_flat, point_flat, offsets)`` of a ``HuffmanTree``.

    The merges of :func:`huffman_merges`; then each node's depth (a parent has a larger id than
    its children, so one pass from the root down), and each word's path written from its parent
    back to the root.  Cost :math:`O(V \\log V + N)`, ``N`` the total path length.
    """
    n_words = word_counts.shape[0]
    parent, bit = huffman_merges(word_counts)
    root = 2 * n_words - 2
    depth = np.zeros(2 * n_words - 1, dtype=np.int64)
    for node in range(root - 1, -1, -1):
        depth[node] = depth[parent[node]] + 1
    offsets = np.zeros(n_words + 1, dtype=np.int64)
    for w in range(n_words):
        offsets[w + 1] = offsets[w] + depth[w]
    code_flat = np.zeros(offsets[n_words], dtype=np.uint8)
    point_flat = np.zeros(offsets[n_words], dtype=np.int32)
    for w in range(n_words):
        node = w
        for position in range(offsets[w + 1] - 1, offsets[w] - 1, -1):
            code_flat[position] = bit[node]
            point_flat[position] = parent[node] - n_words
            node = parent[node]
    return code_flat, point_flat, offsets
