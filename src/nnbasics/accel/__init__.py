"""The compiled accelerators: every numba kernel of nnbasics, behind this one boundary.

Nothing outside ``nnbasics.accel`` imports numba.  Each kernel here speeds up an explicit NumPy
reference that lives with the concept it serves (``nnbasics.core``, ``nnbasics.mlp``,
``nnbasics.word2vec``), and each is tested against that reference.  Kernels compile on first use
(numba's ``cache=True`` keeps them on disk), never at ``import nnbasics``.

* ``mlp_kernels``: the fused element-wise passes of an MLP training step;
* ``word2vec_kernels``: word2vec training over a batch of sentences (skip-gram and CBOW, negative
  sampling and hierarchical softmax, one walker);
* ``corpus_reader``: the compiled reader of a ``corpus_file``;
* ``huffman``: gensim's Huffman tree over the word counts.
"""
