"""Build the realistic word2vec benchmark corpus (>= 5M words) from text obtainable here.

The text is that of Debian's dictionary packages (``dict-gcide``: the GNU Collaborative
International Dictionary of English, ``dict-foldoc``, ``dict-jargon``, ``dict-devil``,
``dict-vera``, ``dict-elements``) and the Wikipedia sample in gensim's test data (the articles of
``w2v_data.wiki_articles``, once, in dump order).  The ``.deb`` files are fetched with
``apt-get download`` (no root, no installation; or taken from ``--debs DIR``), their versions and
SHA-256 pinned in :data:`PACKAGES`, and unpacked with ``dpkg-deb -x`` into a temporary directory.

Cleaning (deterministic):

* a dictionary is split into its entries with its dictd index (each line: headword, offset and
  length in dictd's base-64), one line per distinct (offset, length), in file order; the
  ``00-database-*`` entries (the dictionary's own description) are skipped;
* gcide's pronunciation marks (``\\Ab`di*ca"tion\\``) and source tags (``[1913 Webster]``,
  ``[PJC]``) are removed;
* the text is lower-cased and cut into tokens of ASCII letters (``[a-z]+``); entries with fewer
  than 3 tokens are dropped.

The result (6,417,419 tokens, 36 MB, 154,000 lines) is written atomically and its SHA-256
checked against :data:`CORPUS_SHA256`: another Debian or gensim release changing the text is
caught, not silently benchmarked.

Usage::

    python benchmarks/w2v_corpus.py [--out PATH] [--debs DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import w2v_data

DEFAULT_OUT = Path(tempfile.gettempdir()) / "nnbasics_w2v" / "dict_wiki_corpus.txt"

#: package -> (version, SHA-256 of the .deb, dictionary names inside), Debian 12 (bookworm)
PACKAGES = {
    "dict-gcide": ("0.48.5+nmu2",
                   "7b0af5cfde3cbdef5e9d6e78f92ec335ced7c2790f37a40f49bebc6f7347ac0f", ["gcide"]),
    "dict-foldoc": ("20230119-1",
                    "745cbedb55c2da609cc88ee0284e9d11a67a11ae3709daf7bad0e895ac3294c3", ["foldoc"]),
    "dict-jargon": ("4.4.7-3.1",
                    "405f8168d7994ed2cb71407bb95493daec2e9aa66fc0461dafa74a9d6728a8c1", ["jargon"]),
    "dict-devil": ("1.0-13.1",
                   "6a535684def2a1f70cd42da16d12d43f0e9dc3e54e4a329178eebab3170e3154", ["devil"]),
    "dict-vera": ("1:1.24-1",
                  "11d2bf94c326761131a7707807e66a05e65bc984d1a351fd8ca1cd77ac8ee8db", ["vera"]),
    "dict-elements": ("20001107-a-9.1",
                      "c840ae31017fca01e2d56e178b8d18ade279d24f41d7a285c6150a233f730ffa",
                      ["elements"]),
}

#: SHA-256 of the corpus this script writes (pinned after the first build)
CORPUS_SHA256 = "38f5c4a9caf926b6cf055009e96208683f5f7807a493f91d1c93b7dacd97fbbb"

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_PRONUNCIATION = re.compile(r"\\[^\\\n]{0,80}\\")  # gcide: \Ab`di*ca"tion\
_SOURCE_TAG = re.compile(r"\[(?:\d{4} Webster|Webster \d{4}[^\]]*|PJC|WordNet[^\]]*|RHD)\]")
_TOKEN = re.compile(r"[a-z]+")
MIN_TOKENS = 3


def dictd_number(text: str) -> int:
    """A dictd index number (base 64, most significant digit first)."""
    value = 0
    for char in text:
        value = value * 64 + _B64.index(char)
    return value


def dictd_entries(index: Path, data: Path) -> list[str]:
    """The entries of a dictd dictionary, in file order, each once."""
    text = gzip.decompress(data.read_bytes())  # .dict.dz is gzip with an index in its header
    spans, about = set(), set()  # entries; the dictionary's description (several headwords)
    for line in index.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        span = (dictd_number(fields[1]), dictd_number(fields[2]))
        is_about = fields[0].replace("-", "").startswith("00database")
        (about if is_about else spans).add(span)
    return [text[start:start + length].decode("utf-8", "replace")
            for start, length in sorted(spans - about)]


def clean(text: str) -> list[str]:
    """Lower-case ASCII letter tokens, without gcide's pronunciations and source tags."""
    text = _SOURCE_TAG.sub(" ", _PRONUNCIATION.sub(" ", text))
    return _TOKEN.findall(text.lower())


def fetch_debs(directory: Path) -> dict[str, Path]:
    """The pinned ``.deb`` files, from ``directory`` or fetched there by ``apt-get download``."""
    found = {}
    for package, (version, sha256, _) in PACKAGES.items():
        matches = sorted(directory.glob(f"{package}_*.deb"))
        if not matches:
            subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=directory,
                           check=True, stdout=subprocess.DEVNULL)
            matches = sorted(directory.glob(f"{package}_*.deb"))
        if len(matches) != 1:
            raise SystemExit(f"expected one {package} .deb in {directory}, found {matches}")
        digest = hashlib.sha256(matches[0].read_bytes()).hexdigest()
        if digest != sha256:
            raise SystemExit(f"{matches[0]}: SHA-256 {digest}, expected {sha256} ({package} "
                             f"{version})")
        found[package] = matches[0]
    return found


def corpus_lines(debs: dict[str, Path], work: Path) -> list[str]:
    """The cleaned lines: every dictionary's entries, then the Wikipedia sample's articles."""
    lines = []
    for package, deb in debs.items():
        root = work / package
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        for name in PACKAGES[package][2]:
            share = root / "usr" / "share" / "dictd"
            for entry in dictd_entries(share / f"{name}.index", share / f"{name}.dict.dz"):
                tokens = clean(entry)
                if len(tokens) >= MIN_TOKENS:
                    lines.append(" ".join(tokens))
    lines += w2v_data.wiki_articles()
    return lines


def build(out: Path, debs_dir: Path | None = None) -> tuple[int, str]:
    """Write the corpus to ``out`` atomically; return (tokens, SHA-256)."""
    with tempfile.TemporaryDirectory(prefix="nnbasics_w2v_corpus_") as tmp:
        work = Path(tmp)
        debs = fetch_debs(debs_dir if debs_dir is not None else work)
        lines = corpus_lines(debs, work)
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp_name, out)
    except BaseException:
        os.unlink(tmp_name)
        raise
    return sum(line.count(" ") + 1 for line in lines), hashlib.sha256(payload).hexdigest()


def ensure_corpus(out: Path = DEFAULT_OUT) -> Path:
    """Return ``out``, building it first if it does not exist or its checksum is wrong."""
    if out.exists() and hashlib.sha256(out.read_bytes()).hexdigest() == CORPUS_SHA256:
        return out
    _, digest = build(out)
    if digest != CORPUS_SHA256:
        raise SystemExit(f"{out}: SHA-256 {digest}, expected {CORPUS_SHA256}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--debs", type=Path, default=None,
                        help="directory holding the .deb files (default: apt-get download)")
    args = parser.parse_args()
    n_tokens, digest = build(args.out, args.debs)
    print(f"wrote {args.out}: {n_tokens} tokens, {args.out.stat().st_size} bytes")
    print(f"SHA-256 {digest}")
    if digest != CORPUS_SHA256:
        print(f"checksum differs from the pinned {CORPUS_SHA256}", file=sys.stderr)
        return 1
    print("checksum matches the pinned value")
    return 0


if __name__ == "__main__":
    sys.exit(main())
