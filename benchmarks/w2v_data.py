"""Prepare the word2vec benchmark corpus from real text shipped on this machine (no download).

The text is the English Wikipedia sample that gensim ships in its test data
(``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``: the first articles of a
2017 dump, 106 of them with at least 50 tokens, about 470k tokens).  Each article is cleaned of
wiki markup with gensim's own ``filter_wiki`` and tokenised with gensim's ``tokenize`` (lower case,
tokens of 1-20 letters, accents kept), and written as one line.  Half a million tokens is too few
for timing to mean much, so the article list is written ``--repeat`` times (default 6, about
2.8M tokens), each copy in a different seeded order of articles.  Repetition is equivalent to more
passes over the same text: it makes timings meaningful, not the vectors better than the text allows.

Usage::

    python benchmarks/w2v_data.py [--out PATH] [--repeat N]

gensim is needed only here and in ``w2v_speed.py`` (it is the peer being measured).
"""

from __future__ import annotations

import argparse
import bz2
import os
import random
import tempfile
from pathlib import Path

DEFAULT_OUT = Path(tempfile.gettempdir()) / "nnbasics_w2v" / "wiki_corpus.txt"
WIKI_NAME = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def gensim_test_data(name: str) -> Path:
    """Path of a file in gensim's test data."""
    import gensim

    return Path(gensim.__file__).parent / "test" / "test_data" / name


def wiki_articles(min_tokens: int = 50) -> list[str]:
    """The cleaned, tokenised articles of gensim's Wikipedia sample, one string each."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki, tokenize

    articles = []
    with bz2.open(gensim_test_data(WIKI_NAME)) as dump:
        for _title, text, _pageid in extract_pages(dump, filter_namespaces=("0",)):
            tokens = tokenize(filter_wiki(text), 1, 20, True)
            if len(tokens) >= min_tokens:
                articles.append(" ".join(tokens))
    return articles


def write_corpus(out: Path, repeat: int, seed: int = 0) -> int:
    """Write the corpus atomically to ``out``; return its number of tokens."""
    articles = wiki_articles()
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_tokens = 0
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for _ in range(repeat):
                order = list(range(len(articles)))
                rng.shuffle(order)
                for i in order:
                    f.write(articles[i])
                    f.write("\n")
                    n_tokens += articles[i].count(" ") + 1
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return n_tokens


def ensure_corpus(out: Path = DEFAULT_OUT, repeat: int = 6) -> Path:
    """Return ``out``, writing it first if it does not exist yet."""
    if not out.exists():
        write_corpus(out, repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    n = write_corpus(args.out, args.repeat)
    print(f"wrote {args.out}: {n} tokens ({args.repeat} copies of the Wikipedia sample)")


if __name__ == "__main__":
    main()
