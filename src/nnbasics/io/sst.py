"""The Stanford Sentiment Treebank (SST) as CS224n assignment 1 reads it: sentences and labels.

The official archive (``stanfordSentimentTreebank.zip``) holds, among others, four text files:

* ``datasetSentences.txt``: a header line, then ``index<TAB>sentence`` (tokens separated by
  spaces, brackets escaped as ``-LRB-``/``-RRB-``, accented letters as UTF-8 mojibake: ``é``
  appears as ``Ã©``, its UTF-8 bytes read as Latin-1 and written again as UTF-8);
* ``dictionary.txt``: ``phrase|phrase id`` for every phrase of the parse trees (brackets and
  accents as they are: ``(``, ``é``);
* ``sentiment_labels.txt``: a header line, then ``phrase id|positivity`` with positivity in
  [0, 1];
* ``datasetSplit.txt``: a header line, then ``sentence index,split`` with 1 = train, 2 = test,
  3 = dev (8544 / 2210 / 1101 sentences).

A sentence's label is the positivity of the phrase that is the whole sentence, found as the course
finds it: the tokens are repaired (``token.encode("latin-1").decode("utf-8")`` where that round
trip succeeds, which undoes the mojibake), lower-cased, joined by spaces, ``-lrb-``/``-rrb-``
replaced by brackets, and looked up among the lower-cased phrases of ``dictionary.txt`` (when two
phrases differ only by case, the later line wins, as in the course).  The returned tokens are the
repaired, lower-cased ones, brackets still written ``-lrb-``/``-rrb-``: the tokens the course
trains its word vectors on.

Classes (the README of the treebank): positivity in [0, 0.2] very negative (0), (0.2, 0.4]
negative (1), (0.4, 0.6] neutral (2), (0.6, 0.8] positive (3), (0.8, 1] very positive (4).
The binary variant drops the neutral sentences and maps (0, 1) to negative (0), (3, 4) to
positive (1).

Every file's size is checked against :data:`MAX_FILE_BYTES` before it is read; malformed lines
raise ``ValueError`` naming the file and line.
"""

from __future__ import annotations

import functools
import hashlib
import os
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from nnbasics.io.serialization import atomic_write

__all__ = [
    "BINARY_CLASS_NAMES",
    "CLASS_NAMES",
    "MAX_FILE_BYTES",
    "SST",
    "SST_FILES",
    "SST_SHA256",
    "SST_URL",
    "SSTSplit",
    "download_sst",
    "load_sst",
    "sentiment_class",
]

#: the official archive, as CS224n's ``get_datasets.sh`` downloads it
SST_URL = "http://nlp.stanford.edu/~socherr/stanfordSentimentTreebank.zip"
#: SHA-256 of that archive.  Not computed here (no network): taken from two independent public
#: records of the same URL, JuliaText/CorpusLoaders.jl's DataDeps registration
#: (``test/StanfordSentimentTreebank_DataDeps.jl``) and a reproduction log that audits the
#: archive before use; both give this digest.  No public record of its exact size was found, so
#: the download is bounded by :data:`MAX_ARCHIVE_BYTES` instead of an exact size.
SST_SHA256 = "3f5209483b46bbf129cacbbbe6ae02fe780407034f61cf6342b7833257c3f1db"
#: the archive is about 6 MB; a download beyond this is refused before it is complete
MAX_ARCHIVE_BYTES = 64 << 20
#: the largest treebank file read (``dictionary.txt`` is about 11 MB)
MAX_FILE_BYTES = 256 << 20
#: the folder the archive unpacks into, and the files read from it
SST_FOLDER = "stanfordSentimentTreebank"
SST_FILES = ("datasetSentences.txt", "datasetSplit.txt", "dictionary.txt",
             "sentiment_labels.txt")
_EXTRACTED = (*SST_FILES, "README.txt")

CLASS_NAMES = ("very negative", "negative", "neutral", "positive", "very positive")
BINARY_CLASS_NAMES = ("negative", "positive")
_THRESHOLDS = np.array([0.2, 0.4, 0.6, 0.8])  # upper ends of classes 0-3, each inclusive
_SPLIT_CODES = {1: "train", 2: "test", 3: "dev"}


@dataclass
class SSTSplit:
    """The sentences of one split with their labels."""

    sentences: list[list[str]]  # N token lists
    y: np.ndarray  # (N,) int64 class labels
    positivity: np.ndarray  # (N,) float64 in [0, 1], the sentence phrase's sentiment value

    def __len__(self) -> int:
        return len(self.sentences)


@dataclass
class SST:
    """The official train / dev / test split of the treebank's sentences."""

    train: SSTSplit
    dev: SSTSplit
    test: SSTSplit
    class_names: tuple[str, ...]


def sentiment_class(positivity: np.ndarray) -> np.ndarray:
    """The 5 classes of positivity values: ``[0, .2] -> 0, (.2, .4] -> 1, ..., (.8, 1] -> 4``.

    Parameters
    ----------
    positivity : array_like of float in [0, 1], any shape

    Returns
    -------
    ndarray of int64, same shape: the number of thresholds 0.2, 0.4, 0.6, 0.8 strictly below the
    value (``np.searchsorted(thresholds, value, side="left")``: a value on a threshold belongs to
    the lower class, as the treebank's README and the course's ``categorify``).
    """
    positivity = np.asarray(positivity, dtype=np.float64)
    return np.searchsorted(_THRESHOLDS, positivity, side="left").astype(np.int64)


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------


def _lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a UTF-8 file as ``(line number, text without line end)``."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} a treebank file "
                         "can have; not an SST file")
    # utf-8-sig: a byte-order mark is not part of the first line
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1)
            if line.strip()]


def _repair(token: str) -> str:
    """Undo the treebank's mojibake: ``"Ã©"`` (UTF-8 bytes read as Latin-1) becomes ``"é"``.

    A token that is not such a round trip (plain ASCII, or a character beyond Latin-1, or bytes
    that are not UTF-8) is returned unchanged.
    """
    try:
        return token.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return token


def _read_sentences(path: Path) -> list[list[str]]:
    lines = _lines(path)[1:]  # header: sentence_index<TAB>sentence
    sentences = []
    for expected, (number, line) in enumerate(lines, start=1):
        index, _, text = line.partition("\t")
        if not index.strip().isdigit() or not text.strip():
            raise ValueError(f"{path}: line {number}: expected 'index<TAB>sentence', got "
                             f"{line[:60]!r}")
        if int(index) != expected:
            raise ValueError(f"{path}: line {number}: sentence index {int(index)}, expected "
                             f"{expected} (the indices count from 1 without gaps)")
        sentences.append([_repair(token).lower() for token in text.split()])
    if not sentences:
        raise ValueError(f"{path}: no sentences")
    return sentences


def _read_dictionary(path: Path) -> dict[str, int]:
    phrases = {}
    for number, line in _lines(path):  # no header: phrase|id
        phrase, bar, phrase_id = line.rpartition("|")
        if not bar or not phrase_id.strip().isdigit():
            raise ValueError(f"{path}: line {number}: expected 'phrase|id', got {line[:60]!r}")
        phrases[phrase.lower()] = int(phrase_id)  # later lines win, as in the course
    return phrases


def _read_positivity(path: Path) -> dict[int, float]:
    values = {}
    for number, line in _lines(path)[1:]:  # header: phrase ids|sentiment values
        phrase_id, bar, value = line.partition("|")
        try:
            key, positivity = int(phrase_id), float(value)
        except ValueError:
            key, positivity = -1, np.nan
        if not bar or key < 0 or not 0.0 <= positivity <= 1.0:
            raise ValueError(f"{path}: line {number}: expected 'phrase id|value in [0, 1]', "
                             f"got {line[:60]!r}")
        values[key] = positivity
    return values


def _read_split(path: Path, n_sentences: int) -> np.ndarray:
    """The split code (1 train, 2 test, 3 dev) of every sentence, (n_sentences,) int64."""
    codes = np.zeros(n_sentences, dtype=np.int64)
    for number, line in _lines(path)[1:]:  # header: sentence_index,splitset_label
        index, comma, code = line.partition(",")
        try:
            i, c = int(index), int(code)
        except ValueError:
            i, c = 0, 0
        if not comma or not 1 <= i <= n_sentences or c not in _SPLIT_CODES:
            raise ValueError(f"{path}: line {number}: expected 'sentence index (1 to "
                             f"{n_sentences}),split (1, 2 or 3)', got {line[:60]!r}")
        codes[i - 1] = c
    missing = np.flatnonzero(codes == 0)
    if missing.size:
        raise ValueError(f"{path}: sentence {missing[0] + 1} (and {missing.size - 1} more) has "
                         "no split")
    return codes


def _find_folder(directory: Path) -> Path:
    """``directory`` if it holds the treebank's files, else its ``stanfordSentimentTreebank``."""
    for candidate in (directory, directory / SST_FOLDER):
        if all((candidate / name).is_file() for name in SST_FILES):
            return candidate
    missing = [name for name in SST_FILES if not (directory / name).is_file()]
    raise FileNotFoundError(
        f"{directory}: not an SST folder: missing {', '.join(missing)} (neither there nor in "
        f"{directory / SST_FOLDER}; nnbasics.datasets.download_sst fetches them)"
    )


def load_sst(directory: str | os.PathLike, labels: int = 5) -> SST:
    """The treebank's sentences, labels and official split, read as CS224n reads them.

    Parameters
    ----------
    directory : path
        The folder holding ``datasetSentences.txt``, ``datasetSplit.txt``, ``dictionary.txt`` and
        ``sentiment_labels.txt``, or the folder the archive was unpacked in (which holds
        ``stanfordSentimentTreebank/``).
    labels : {5, 2}, default 5
        5: the fine-grained classes 0-4 (very negative to very positive).  2: negative (0) and
        positive (1), the neutral sentences dropped (SST-2's rule on sentence labels).

    Returns
    -------
    SST
        ``train``, ``dev``, ``test`` (:class:`SSTSplit`: token lists, int64 labels, positivity)
        and ``class_names``.  On the real treebank: 8544 / 1101 / 2210 sentences with 5 classes.

    Raises
    ------
    FileNotFoundError
        A file is missing.
    ValueError
        A malformed line, a sentence with no phrase in ``dictionary.txt`` or a phrase with no
        value in ``sentiment_labels.txt`` (named with its file and line).
    """
    if isinstance(labels, bool) or labels not in (5, 2):
        raise ValueError(f"labels must be 5 or 2, got {labels!r}")
    folder = _find_folder(Path(directory))
    sentences = _read_sentences(folder / "datasetSentences.txt")
    phrases = _read_dictionary(folder / "dictionary.txt")
    values = _read_positivity(folder / "sentiment_labels.txt")
    codes = _read_split(folder / "datasetSplit.txt", len(sentences))
    positivity = np.empty(len(sentences), dtype=np.float64)
    for i, tokens in enumerate(sentences):
        phrase = " ".join(tokens).replace("-lrb-", "(").replace("-rrb-", ")")
        if phrase not in phrases:
            raise ValueError(f"{folder / 'datasetSentences.txt'}: sentence {i + 1} is not a "
                             f"phrase of dictionary.txt: {phrase[:60]!r}")
        if phrases[phrase] not in values:
            raise ValueError(f"{folder / 'sentiment_labels.txt'}: no value for phrase "
                             f"{phrases[phrase]} (sentence {i + 1})")
        positivity[i] = values[phrases[phrase]]
    y = sentiment_class(positivity)
    keep = np.ones(len(sentences), dtype=bool)
    if labels == 2:
        keep = y != 2
        y = (y > 2).astype(np.int64)

    def split(code: int) -> SSTSplit:
        rows = np.flatnonzero((codes == code) & keep)
        return SSTSplit([sentences[i] for i in rows], y[rows], positivity[rows])

    return SST(split(1), split(3), split(2), CLASS_NAMES if labels == 5 else BINARY_CLASS_NAMES)


# ----------------------------------------------------------------------------------------------
# downloading
# ----------------------------------------------------------------------------------------------


def download_sst(directory: str | os.PathLike, url: str = SST_URL, sha256: str = SST_SHA256,
                 timeout: float = 60) -> Path:
    """Download the official archive, verify its SHA-256 and unpack the treebank's files.

    Parameters
    ----------
    directory : path
        Created if needed.  The archive is kept there (``stanfordSentimentTreebank.zip``, so that
        a second call verifies it instead of downloading again) and its text files are written
        there too, as :func:`nnbasics.io.datasets.download_mnist` writes MNIST's.
    url, sha256 : the archive and its expected SHA-256 hex digest (default :data:`SST_URL`,
        :data:`SST_SHA256`)
    timeout : seconds to wait for the server

    Returns
    -------
    Path
        The folder holding the files, which :func:`load_sst` reads.

    Raises
    ------
    OSError
        The download failed or delivered other bytes than the checksum's (nothing is kept).
    ValueError
        The archive is unsafe or not the treebank's: a member whose path is absolute or leaves the
        folder, a declared size beyond :data:`MAX_FILE_BYTES` (or all of them together beyond
        four times that), a missing file.

    Notes
    -----
    Only the four data files and the README are extracted, each to a fixed name and written
    atomically; a member is read no further than its declared size.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / PurePosixPath(url).name
    if not (archive.is_file() and _file_sha256(archive) == sha256):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                atomic_write(archive, functools.partial(_copy_verified, response, sha256=sha256))
        except (OSError, ValueError) as exc:
            raise OSError(f"could not download {url}: {exc}") from None
    return _extract(archive, directory)


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _copy_verified(response, fh, sha256: str) -> None:
    """Copy ``response`` to ``fh``; ValueError beyond :data:`MAX_ARCHIVE_BYTES` bytes or for
    another digest."""
    limit = MAX_ARCHIVE_BYTES
    digest = hashlib.sha256()
    n = 0
    while chunk := response.read(1 << 16):
        n += len(chunk)
        if n > limit:
            raise ValueError(f"the download exceeds {limit} bytes, far more than the archive")
        digest.update(chunk)
        fh.write(chunk)
    if digest.hexdigest() != sha256:
        raise ValueError(f"checksum mismatch: got {n} bytes with SHA-256 {digest.hexdigest()}, "
                         f"expected SHA-256 {sha256}")


def _extract(archive: Path, folder: Path) -> Path:
    """Write the treebank's files of ``archive`` into ``folder`` after checking every member."""
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename \
                    or ":" in info.filename:
                raise ValueError(f"{archive}: member {info.filename!r} would be written outside "
                                 "the folder; refusing the archive")
        wanted = {}
        for info in members:
            parts = PurePosixPath(info.filename).parts
            if len(parts) == 2 and parts[0] == SST_FOLDER and parts[1] in _EXTRACTED:
                wanted[parts[1]] = info
        missing = [name for name in SST_FILES if name not in wanted]
        if missing:
            raise ValueError(f"{archive}: not the treebank's archive: no {SST_FOLDER}/"
                             f"{missing[0]}")
        too_big = [i for i in wanted.values() if i.file_size > MAX_FILE_BYTES]
        if too_big:
            raise ValueError(f"{archive}: member {too_big[0].filename} declares "
                             f"{too_big[0].file_size} bytes, more than {MAX_FILE_BYTES}")
        total = sum(i.file_size for i in wanted.values())
        if total > 4 * MAX_FILE_BYTES:
            raise ValueError(f"{archive}: the files declare {total} bytes together, more than "
                             f"{4 * MAX_FILE_BYTES}")
        folder.mkdir(parents=True, exist_ok=True)
        for name, info in wanted.items():
            with zf.open(info) as member:
                atomic_write(folder / name, functools.partial(_copy_bounded, member,
                                                              limit=info.file_size))
    return folder


def _copy_bounded(member, fh, limit: int) -> None:
    """Copy at most ``limit`` bytes of ``member`` to ``fh`` (ValueError if it holds more)."""
    copied = 0
    while chunk := member.read(1 << 16):
        copied += len(chunk)
        if copied > limit:
            raise ValueError(f"an archive member holds more than its declared {limit} bytes")
        fh.write(chunk)
