"""Data sets for the MLP: the embedded digits, MNIST (IDX files), CSV and ``.npz``.

Every loader returns a :class:`Dataset`: features ``X`` (N, D) float32, labels ``y`` (N,), the
image shape when the rows are images (for the first-layer weight figure) and, for MNIST, the
official test split.  CSV files are parsed by NumPy's C reader; ``.npz`` files are read by the
bounded reader of :mod:`nnbasics.io.serialization`.  Loaders raise ``FileNotFoundError`` for
missing files and ``ValueError`` naming the problem for malformed ones (wrong magic number,
sizes that disagree with the header, rows of different lengths, X and y of different lengths,
empty or non-finite labels).  An IDX file's declared size is checked against the file before its
data is read.

MNIST can be downloaded by :func:`download_mnist`, which verifies every file's SHA-256 (the
checksums of the files as distributed, listed in :data:`MNIST_FILES`).
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import math
import os
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from nnbasics.io.serialization import atomic_write, read_npz

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "Dataset",
    "cast_features",
    "download_mnist",
    "file_sha256",
    "held_out_split",
    "is_csv",
    "load_csv",
    "load_csv_features",
    "load_dataset",
    "load_digits",
    "load_idx",
    "load_mnist",
    "load_npz",
    "save_idx",
]


@dataclass
class Dataset:
    """Features, labels and what is known about them."""

    X: np.ndarray  # (N, D) float32
    y: np.ndarray  # (N,)
    name: str
    image_shape: tuple[int, int] | None = None
    X_test: np.ndarray | None = None  # an official test split, when the data set has one
    y_test: np.ndarray | None = None


def _check_xy(X: np.ndarray, y: np.ndarray, source: str) -> None:
    if X.ndim != 2:
        raise ValueError(f"{source}: features must be 2-D (N, D), got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"{source}: labels must be 1-D (N,), got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{source}: {X.shape[0]} feature rows but {y.shape[0]} labels")
    if X.shape[0] == 0:
        raise ValueError(f"{source}: the data set is empty")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{source}: features contain NaN or infinity")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{source}: labels contain NaN or infinity")
    if y.dtype.kind not in "iufUSb":
        raise ValueError(f"{source}: labels must be numbers or strings, got dtype {y.dtype}")


def load_digits() -> Dataset:
    """scikit-learn's bundled 8×8 digits (1797 rows, 10 classes), pixels scaled to [0, 1].

    The raw pixels are counts 0..16; dividing by 16 puts every feature in [0, 1].
    """
    from sklearn.datasets import load_digits as sk_load_digits

    X, y = sk_load_digits(return_X_y=True)
    return Dataset((X / 16.0).astype(np.float32), y.astype(np.int64), "digits", (8, 8))


# ----------------------------------------------------------------------------------------------
# MNIST / IDX
# ----------------------------------------------------------------------------------------------

#: The four MNIST files: name -> (SHA-256, size in bytes) of the gzipped file as distributed.
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}
#: Base URLs the MNIST files are downloaded from, tried in order.
MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
# IDX type codes (the third byte of the magic number) -> big-endian NumPy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_MAX_BYTES = 1 << 32  # refuse headers that declare more than 4 GiB of data
_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 20


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _gzip_declared_size(path: Path) -> int:
    """ISIZE, the last 4 bytes of a gzip file: the uncompressed size modulo 2**32."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() < 18:  # 10-byte header + 8-byte trailer at the very least
            raise ValueError(f"{path}: truncated gzip file ({fh.tell()} bytes)")
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def _gzip_stream_size(path: Path, limit: int) -> int:
    """Bytes a gzip file decompresses to (every member, as ``gzip.open`` reads them), counted in
    chunks without keeping them, and no more than ``limit``."""
    total = 0
    with gzip.open(path, "rb") as fh:
        while total < limit:
            chunk = fh.read(min(_READ_CHUNK, limit - total))
            if not chunk:
                break
            total += len(chunk)
    return total


def _read_exactly(fh, n_bytes: int) -> bytes:
    """Read ``n_bytes`` in chunks (so a lying header cannot make us allocate it up front)."""
    chunks, remaining = [], n_bytes
    while remaining > 0:
        chunk = fh.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (MNIST's format), raw or gzipped (detected from its first bytes).

    Format: 2 zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D
    float32, 0x0E float64), the number of dimensions ``d``, then ``d`` big-endian uint32 sizes,
    then the data, big-endian, in row-major order.  Returns an array of the declared shape in
    native byte order.

    The data size the header declares is checked before any data is read: against the file size
    for a raw file, against the gzip trailer's uncompressed size (ISIZE) for a gzipped one; the
    data is then read in chunks and must end exactly where the header says.

    Raises
    ------
    FileNotFoundError
    ValueError
        Bad magic number or type code, a header declaring no dimensions or more than 4 GiB, or
        data shorter or longer than the header declares (a truncated or corrupt file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    gzipped = _is_gzip(path)
    isize = _gzip_declared_size(path) if gzipped else None  # before decompressing anything
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise ValueError(f"{path} is not an IDX file (bad magic number 0x{head.hex()})")
            dtype = np.dtype(_IDX_TYPES[head[2]])
            n_dims = head[3]
            if n_dims == 0:
                raise ValueError(f"{path}: IDX header declares no dimensions")
            dims_raw = fh.read(4 * n_dims)
            if len(dims_raw) < 4 * n_dims:
                raise ValueError(f"{path}: truncated IDX header")
            shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            n_bytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            if n_bytes > _IDX_MAX_BYTES:
                raise ValueError(f"{path}: header declares shape {shape} ({n_bytes} bytes); "
                                 "refusing more than 4 GiB")
            header_bytes = 4 + 4 * n_dims
            if gzipped:
                available = isize - header_bytes
                matches = available % (1 << 32) == n_bytes % (1 << 32)
                if not matches:  # ISIZE is the last member's: count a multi-member file's bytes
                    available = _gzip_stream_size(path, header_bytes + n_bytes + 1) - header_bytes
                    matches = available == n_bytes
            else:
                available = path.stat().st_size - header_bytes
                matches = available == n_bytes
            if not matches:
                raise ValueError(
                    f"{path}: header declares shape {shape} ({n_bytes} bytes) but the file "
                    f"holds {available} bytes of data (truncated or corrupt)"
                )
            data = _read_exactly(fh, n_bytes)
            if len(data) != n_bytes or fh.read(1):
                raise ValueError(
                    f"{path}: header declares shape {shape} ({n_bytes} bytes) but the data "
                    f"{'is shorter' if len(data) != n_bytes else 'is longer'} (corrupt file)"
                )
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def save_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzipped when ``compress`` or the name ends in ``.gz``).

    The inverse of :func:`load_idx`, for arrays of the IDX types (uint8, int8, int16, int32,
    float32, float64) with 1 to 255 dimensions.  Written atomically.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"dtype {array.dtype} has no IDX type code")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"an IDX array needs 1 to 255 dimensions, got {array.ndim}")
    payload = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
               + array.astype(_IDX_TYPES[code]).tobytes())
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    return atomic_write(path, lambda fh: fh.write(payload))


def _find(directory: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")  # some mirrors name them train-images.idx3-ubyte
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem} or {stem}.gz (MNIST IDX files expected)")


def _images_and_labels(images_path: Path, labels_path: Path):
    """``(X, y, (rows, cols))``: images flattened to float32 rows, labels as int64."""
    labels = load_idx(labels_path)
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected labels of shape (N,), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{labels_path}: labels must be integers, got {labels.dtype}")
    images = load_idx(images_path)
    if images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected images of shape (N, rows, cols), got {images.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels"
        )
    if images.shape[0] == 0:
        raise ValueError(f"{images_path}: no images (the IDX file declares 0 of them)")
    X = images.reshape(images.shape[0], images.shape[1] * images.shape[2]).astype(np.float32)
    if images.dtype == np.uint8:
        X /= 255.0  # bytes 0..255 -> [0, 1]
    return X, labels.astype(np.int64), (images.shape[1], images.shape[2])


def load_mnist(directory: str | os.PathLike) -> Dataset:
    """MNIST from a directory holding the four IDX files (raw or ``.gz``), pixels in [0, 1].

    Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``).  The t10k files become the
    official test split.  uint8 pixels are divided by 255.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")
    X, y, image_shape = _images_and_labels(_find(directory, "train-images-idx3-ubyte"),
                                           _find(directory, "train-labels-idx1-ubyte"))
    X_test, y_test, _ = _images_and_labels(_find(directory, "t10k-images-idx3-ubyte"),
                                           _find(directory, "t10k-labels-idx1-ubyte"))
    if X.shape[1] != X_test.shape[1]:
        raise ValueError(f"{directory}: training images have {X.shape[1]} pixels, test images "
                         f"{X_test.shape[1]}")
    return Dataset(X, y, f"mnist ({directory})", image_shape, X_test, y_test)


def download_mnist(directory: str | os.PathLike, mirrors: Sequence[str] = MNIST_MIRRORS,
                   timeout: float = 60, files: Mapping[str, tuple[str, int]] = MNIST_FILES) -> Path:
    """Download the MNIST files into ``directory``, verifying each file's size and SHA-256.

    Parameters
    ----------
    directory : where the files go (created if needed)
    mirrors : base URLs tried in order (any scheme :mod:`urllib` opens)
    timeout : seconds per connection
    files : name -> (SHA-256 hex digest, size in bytes); default :data:`MNIST_FILES`

    Files already present with the right checksum are kept.  Each download goes to a temporary
    file renamed into place only after its size and checksum match; a mismatch leaves nothing
    behind and the next mirror is tried.  Returns ``directory``.

    Raises
    ------
    OSError
        No mirror delivered a file with the expected checksum (each mirror's failure is named).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, (sha256, size) in files.items():
        target = directory / name
        if target.is_file() and file_sha256(target) == sha256:
            continue
        errors = []
        for mirror in mirrors:
            try:
                with urllib.request.urlopen(mirror + name, timeout=timeout) as response:
                    atomic_write(target, functools.partial(_copy_checked, response,
                                                           size=size, sha256=sha256))
                break
            except (OSError, ValueError) as exc:
                errors.append(f"{mirror}{name}: {exc}")
        else:
            raise OSError(f"could not download {name}: " + "; ".join(errors))
    return directory


def _copy_checked(response, fh, size: int, sha256: str) -> None:
    """Copy ``response`` to ``fh``; ValueError unless exactly ``size`` bytes with ``sha256``."""
    digest = hashlib.sha256()
    n = 0
    while chunk := response.read(1 << 16):
        n += len(chunk)
        if n > size:
            raise ValueError(f"download is larger than the expected {size} bytes")
        digest.update(chunk)
        fh.write(chunk)
    if n != size or digest.hexdigest() != sha256:
        raise ValueError(
            f"checksum mismatch: got {n} bytes with SHA-256 {digest.hexdigest()}, expected "
            f"{size} bytes with SHA-256 {sha256}"
        )


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# ----------------------------------------------------------------------------------------------
# CSV and npz
# ----------------------------------------------------------------------------------------------


#: Longest label accepted, in characters: a class name, not a paragraph (a longer field in the
#: label column means the wrong column or delimiter, and would cost that much per row as text).
MAX_LABEL_CHARS = 256
_QUOTE = '"'


def load_csv(path: str | os.PathLike, label_column: str | int = -1, header: bool | None = None,
             delimiter: str = ",") -> Dataset:
    """Rows of a CSV file: one column holds the label, every other column a numeric feature.

    Parameters
    ----------
    path : the file
    label_column : str or int, default -1 (the last column)
        The label column's name (needs a header line) or its index (negative counts from the end).
    header : bool or None, default None
        Whether the first line holds column names; ``None`` guesses: a first line with a
        non-numeric field other than the label is a header, and so is one whose only
        non-numeric field is the label's when the label below it is a number (pandas writes
        ``0,1,...,label``).
    delimiter : str, default ","
        One character (``";"`` or a tab for the files some spreadsheets export).

    Labels: int64 when every label is a whole number (``3`` and ``3.0`` are one class), float64
    when they are numbers but not all whole (continuous targets, which a classifier refuses),
    else strings as written (at most :data:`MAX_LABEL_CHARS` characters).  A quote left open, a
    field across lines, a row of another length, text in a feature column, text that is not
    UTF-8 and features beyond float32's range are errors naming the file and line.

    Notes
    -----
    The rows are parsed by NumPy's C reader (:func:`numpy.loadtxt`, a dependency already; about
    as fast as pandas' and with memory near the size of the result, see
    ``benchmarks/RESULTS.md``).  Only when it refuses the file is the file read again, row by
    row with :mod:`csv`, to name the line and the problem.
    """
    path = Path(path)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise ValueError(f"the CSV delimiter must be one character other than a quote or a line "
                         f"break, got {delimiter!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    head = _first_rows(path, delimiter, 2)
    if not head:
        raise ValueError(f"{path}: no rows")
    first_line, first = head[0]
    if len(first) < 2:
        raise ValueError(f"{path}: line {first_line} has one field; a CSV needs features and "
                         f"a label (is the delimiter {delimiter!r} right?)")
    width = len(first)
    if header is None:
        header = _looks_like_header(first, head[1][1] if len(head) > 1 else None, label_column)
    names = [f.strip() for f in first] if header else None
    if isinstance(label_column, str):
        if names is None:
            raise ValueError(f"{path}: label column {label_column!r} given by name but the file "
                             "has no header line")
        if label_column not in names:
            raise ValueError(f"{path}: no column named {label_column!r}; columns are {names}")
        label_index = names.index(label_column)
    else:
        if not -width <= int(label_column) < width:
            raise ValueError(
                f"{path}: label column {label_column} is out of range for {width} columns"
            )
        label_index = int(label_column) % width
    if header and len(head) < 2:
        raise ValueError(f"{path}: no data rows")
    table = _CsvTable(path, delimiter, width, label_index, skip=first_line if header else 0)
    try:
        X, y = table.read()
    except (ValueError, UnicodeDecodeError) as exc:
        table.diagnose()  # raises naming the line, when the csv module sees the problem
        raise ValueError(f"{path}: {exc}") from None
    _check_xy(X, y, str(path))
    return Dataset(X, y, str(path), _square_shape(X.shape[1]))


def load_csv_features(path: str | os.PathLike, n_features: int, label_column: str | int = -1,
                      delimiter: str = ",") -> np.ndarray:
    """The feature rows of a CSV for a model of ``n_features`` inputs, with or without labels.

    A file of ``n_features`` columns is all features; one of ``n_features + 1`` columns holds a
    label in ``label_column`` too (as :func:`load_csv` reads it), which is left out.  A first
    line that is not all numbers is a header.

    Returns
    -------
    X : ndarray of float32, shape (N, n_features)

    Raises
    ------
    ValueError
        Another number of columns, or what :func:`load_csv` refuses; naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    head = _first_rows(path, delimiter, 2)
    if not head:
        raise ValueError(f"{path}: no rows")
    first_line, first = head[0]
    if len(first) == n_features + 1:
        return load_csv(path, label_column, delimiter=delimiter).X
    if len(first) != n_features:
        raise ValueError(f"{path}: line {first_line} has {len(first)} fields; the model takes "
                         f"{n_features} features (or {n_features + 1} columns with a label)")
    header = not all(_is_number(f) for f in first)
    if header and len(head) < 2:
        raise ValueError(f"{path}: no data rows")
    table = _CsvTable(path, delimiter, len(first), None, skip=first_line if header else 0)
    try:
        X, _ = table.read()
    except (ValueError, UnicodeDecodeError) as exc:
        table.diagnose()
        raise ValueError(f"{path}: {exc}") from None
    return X


def _first_rows(path: Path, delimiter: str, n: int) -> list[tuple[int, list[str]]]:
    """The first ``n`` non-empty rows, with their line numbers (the csv module's parse)."""
    rows = []
    for line, row in _csv_rows(path, delimiter):
        rows.append((line, row))
        if len(rows) == n:
            break
    return rows


def _csv_rows(path: Path, delimiter: str):
    """``(line number, fields)`` of each non-empty row, streamed; ValueError naming the line
    for bad quoting, a field across lines, a field beyond the csv module's size limit or text
    that is not UTF-8."""
    # utf-8-sig: a byte-order mark (spreadsheet exports write one) is not part of the first name
    with open(path, newline="", encoding="utf-8-sig") as fh:
        # strict: a quote left open is an error, not a field that swallows the rest of the file
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            for row in reader:
                if any("\n" in f or "\r" in f for f in row):
                    raise ValueError(f"{path}: line {reader.line_num}: a field spans several "
                                     "lines (a quote left open?)")
                if row:
                    yield reader.line_num, row
        except csv.Error as error:
            raise ValueError(f"{path}: line {reader.line_num}: {error}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start} of "
                             "a block)") from None


def _looks_like_header(first: list[str], second: list[str] | None,
                       label_column: str | int) -> bool:
    """Whether the first row names the columns: a label given by name needs a header; else a
    first row whose *feature* fields are not all numbers is one (labels may be words), and so is
    a row of numbered columns ("0,1,...,label", as pandas writes) above a numeric label."""
    if isinstance(label_column, str):
        return True
    width = len(first)
    label_at = int(label_column) % width if -width <= int(label_column) < width else None
    if not all(_is_number(f) for i, f in enumerate(first) if i != label_at):
        return True
    if label_at is not None and not _is_number(first[label_at]):
        return second is not None and len(second) == width and _is_number(second[label_at])
    return False


@dataclass
class _CsvTable:
    """The data rows of a CSV file: read by NumPy's C reader, diagnosed by the csv module."""

    path: Path
    delimiter: str
    width: int
    label_index: int | None  # None: every column is a feature
    skip: int  # lines before the data (the header's line number, or 0)

    def _loadtxt(self, **kwargs) -> np.ndarray:
        return np.loadtxt(self.path, delimiter=self.delimiter, comments=None, quotechar=_QUOTE,
                          skiprows=self.skip, encoding="utf-8-sig", ndmin=2, **kwargs)

    def read(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X float32 (N, D), y (N,) or None without a label column)``; ValueError (NumPy's
        message) if the reader refuses."""
        try:  # the common case, numeric labels
            table = self._loadtxt(dtype=np.float64)  # (N, width)
        except ValueError:  # labels in words (or an error the next pass meets again)
            if self.label_index is None:
                raise
            return self._read_with_text_labels()
        self._check_width(table)
        if self.label_index is None:
            return self._features(table, None), None
        labels = table[:, self.label_index].copy()  # (N,)
        X = self._features(table, self.label_index)
        del table
        if not np.isfinite(labels).all():
            raise ValueError("a label is NaN or infinity")
        whole = (labels == np.round(labels)).all()
        if whole and np.abs(labels).max() < 2.0**53:  # exact in float64, so exact as int64
            return X, labels.astype(np.int64)
        if whole:  # huge whole numbers: as written (identifiers beyond 64 bits stay text)
            return self._read_with_text_labels()
        return X, labels

    def _read_with_text_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """One pass in which a converter numbers the label texts (0, 1, ... in order of first
        appearance): the labels cost one float per row, their texts one string per class."""
        names: dict[str, int] = {}

        def code(field: str) -> int:
            return names.setdefault(field.strip(), len(names))

        table = self._loadtxt(dtype=np.float64, converters={self.label_index: code})
        self._check_width(table)
        codes = table[:, self.label_index].astype(np.intp)  # (N,)
        X = self._features(table, self.label_index)
        del table
        longest = max(len(name) for name in names)
        if longest > MAX_LABEL_CHARS or any(not name or "\n" in name or "\r" in name
                                            for name in names):
            self.diagnose()
            raise ValueError(f"a label of {longest} characters (at most {MAX_LABEL_CHARS}; is "
                             "the label column right?)")
        classes = _parse_labels(np.array(list(names), dtype=str))  # (K,)
        return X, classes[codes]

    def _check_width(self, table: np.ndarray) -> None:
        if table.shape[1] != self.width:
            raise ValueError(f"the rows have {table.shape[1]} fields, the first line "
                             f"{self.width}")

    def _features(self, table: np.ndarray, label_at: int | None) -> np.ndarray:
        """The columns of ``table`` (N, width) but ``label_at`` (None: all) as float32 (N, D),
        written straight into the result (no float64 copy), refusing values float32 cannot
        hold."""
        finite = np.isfinite(table)
        if label_at is not None:
            finite[:, label_at] = True
        if not finite.all():
            self.diagnose()  # a field too long to be a number, say; else NaN is named later
        del finite
        n_features = table.shape[1] - (label_at is not None)
        X = np.empty((table.shape[0], n_features), dtype=np.float32)  # (N, D)
        with np.errstate(over="ignore"):
            if label_at is None:
                X[...] = table
            else:
                X[:, :label_at] = table[:, :label_at]
                X[:, label_at:] = table[:, label_at + 1:]
        if not np.isfinite(X).all() and np.isfinite(table).all():
            raise ValueError(f"{self.path}: features hold values too large for float32 (largest "
                             f"magnitude {np.abs(table).max():.3g}); scale the features")
        return X

    def diagnose(self) -> None:
        """Read the rows with the csv module and raise ValueError naming the first bad line;
        return if it finds none."""
        where = str(self.path)
        for line, row in _csv_rows(self.path, self.delimiter):
            if line <= self.skip:
                continue
            if len(row) != self.width:
                raise ValueError(f"{where}: line {line} has {len(row)} fields, expected "
                                 f"{self.width}")
            if self.label_index is None:
                label = "-"
            else:
                label = row[self.label_index].strip()
            if not label:
                raise ValueError(f"{where}: line {line}: the label field is empty")
            if len(label) > MAX_LABEL_CHARS:
                raise ValueError(f"{where}: line {line}: a label of {len(label)} characters "
                                 f"(at most {MAX_LABEL_CHARS}; is the label column right?)")
            for i, field in enumerate(row):
                if i == self.label_index:
                    continue
                shown = field if len(field) <= 40 else f"{field[:40]}... ({len(field)} characters)"
                if not _is_number(field):
                    raise ValueError(f"{where}: line {line}: feature {shown!r} is not a number")
                if not math.isfinite(float(field)):
                    raise ValueError(f"{where}: line {line}: feature {shown!r} is NaN or "
                                     "infinity, or beyond float64's range")


def _parse_labels(labels: np.ndarray) -> np.ndarray:
    """CSV label fields as int64 when they are all whole numbers (``3`` and ``3.0`` alike, so
    they are one class), float64 when they are all numbers but some are not whole (the estimator
    then refuses them as continuous), else the strings as written.  Integers beyond 64 bits
    (identifiers, say) stay strings."""
    if all(_is_int(v) for v in labels):
        try:
            return labels.astype(np.int64)
        except OverflowError:
            return labels
    if not all(_is_number(v) for v in labels):
        return labels
    values = labels.astype(np.float64)
    whole = np.isfinite(values).all() and (values == np.round(values)).all()
    if whole and np.abs(values).max() < 2.0**63:
        return values.astype(np.int64)
    return values


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_int(field: str) -> bool:
    try:
        int(field)
    except ValueError:
        return False
    return True


def _square_shape(n_features: int) -> tuple[int, int] | None:
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features and side > 1 else None


def cast_features(X: np.ndarray, dtype: DTypeLike, name: str = "X") -> np.ndarray:
    """``X`` in ``dtype`` (no copy if it is already), refusing finite values the cast overflows.

    Parameters
    ----------
    X : ndarray of numbers
    dtype : float dtype, e.g. ``np.float32``
    name : str
        How the messages name ``X``.

    Returns
    -------
    ndarray of ``dtype``, ``X``'s shape

    Raises
    ------
    ValueError
        A finite value beyond the range of ``dtype`` (``1e300`` in float32 would become ``inf``
        and train as such).
    """
    with np.errstate(over="ignore"):
        cast = X.astype(dtype, copy=False)
    if cast is not X and not np.isfinite(cast).all() and np.isfinite(X).all():
        raise ValueError(
            f"{name} holds values too large for {np.dtype(dtype).name} (largest magnitude "
            f"{np.abs(X).max():.3g}); scale the features or use float64"
        )
    return cast


def load_npz(path: str | os.PathLike) -> Dataset:
    """An ``.npz`` holding arrays ``X`` (N, D) and ``y`` (N,) (optionally ``X_test``, ``y_test``).

    Loaded with ``allow_pickle=False``; image rows (N, h, w) are flattened.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    # member sizes checked before anything is allocated, no pickle; errors name the file
    arrays = read_npz(path, what=".npz of numeric arrays")
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing array(s) {missing}; expected 'X' and 'y' "
                         f"(found {sorted(arrays)})")
    image_shape = tuple(arrays["X"].shape[1:]) if arrays["X"].ndim == 3 else None

    def flat(X):
        X = np.asarray(X)
        if X.dtype.kind not in "iufb":
            raise ValueError(f"{path}: X must be numeric, got dtype {X.dtype}")
        if X.ndim == 3:  # images: one row each
            X = X.reshape(X.shape[0], -1)
        return cast_features(X, np.float32, f"{path}: X")

    X, y = flat(arrays["X"]), arrays["y"]
    _check_xy(X, y, str(path))
    X_test = y_test = None
    if ("X_test" in arrays) != ("y_test" in arrays):
        raise ValueError(f"{path}: holds {'X_test' if 'X_test' in arrays else 'y_test'} without "
                         f"{'y_test' if 'X_test' in arrays else 'X_test'}; give both or neither")
    if "X_test" in arrays:
        X_test, y_test = flat(arrays["X_test"]), arrays["y_test"]
        _check_xy(X_test, y_test, f"{path} (test)")
        if X_test.shape[1] != X.shape[1]:
            raise ValueError(f"{path}: X has {X.shape[1]} features but X_test {X_test.shape[1]}")
    return Dataset(X, y, str(path), image_shape or _square_shape(X.shape[1]), X_test, y_test)


def is_csv(spec: str) -> bool:
    """Whether :func:`load_dataset` reads ``spec`` as a CSV file (a ``.csv`` name, not a
    directory): the data whose label column and delimiter can be chosen."""
    return spec != "digits" and Path(spec).suffix.lower() == ".csv" and not Path(spec).is_dir()


def load_dataset(spec: str, label_column: str | int = -1, delimiter: str = ",") -> Dataset:
    """``"digits"``, a directory of MNIST IDX files, a ``.csv`` or a ``.npz`` file.

    ``label_column`` and ``delimiter`` are the CSV reader's (:func:`load_csv`); other than their
    defaults they are refused for the other formats, whose labels are not a column.
    """
    if not is_csv(spec):
        if str(label_column) != "-1":
            raise ValueError(f"a label column ({label_column!r}) applies to CSV files only, not "
                             f"to {spec}")
        if delimiter != ",":
            raise ValueError(f"a delimiter ({delimiter!r}) applies to CSV files only, not to "
                             f"{spec}")
    if spec == "digits":
        return load_digits()
    path = Path(spec)
    if path.is_dir():
        return load_mnist(path)
    if not path.exists():
        raise FileNotFoundError(f"no such data set: {spec} (use 'digits', a directory of MNIST "
                                "files, a .csv or a .npz)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_csv(path, label_column, delimiter=delimiter)
    if suffix == ".npz":
        return load_npz(path)
    raise ValueError(
        f"{spec}: unknown data format {suffix!r}; use .csv, .npz or an MNIST directory"
    )


def content_fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of a data set's content: the bytes, shapes and dtypes of ``X`` and ``y``, in order.

    Two loads of the same file give the same fingerprint; shuffled, edited, added or removed rows
    give another.  It is what ties a model to the rows it held out (``nnbasics evaluate``) and a
    checkpoint to the data it was trained on.
    """
    digest = hashlib.sha256()
    for a in (X, y):
        a = np.ascontiguousarray(a)
        digest.update(f"{a.shape}{a.dtype.str}".encode())
        digest.update(a.data if a.dtype.kind != "O" else repr(a.tolist()).encode())
    return digest.hexdigest()


def held_out_split(X: np.ndarray, y: np.ndarray, fraction: float, seed: int, what: str = "test"):
    """Split off ``fraction`` of the rows: ``(X_rest, y_rest, X_held, y_held)``.

    Stratified by label when every class has at least 2 rows and both parts have room for a
    row of every class (else a plain shuffle: 60 classes and a held-out part of 45 rows cannot
    be stratified), seeded by ``seed`` (scikit-learn's ``train_test_split``): the same data,
    fraction and seed always give the same rows, which is how ``nnbasics evaluate`` finds the
    test rows of a training run.
    """
    from sklearn.model_selection import train_test_split

    _, counts = np.unique(y, return_counts=True)
    n_held = math.ceil(fraction * len(y))  # as train_test_split rounds a fraction
    fits = min(n_held, len(y) - n_held) >= len(counts)
    stratify = y if counts.min() >= 2 and fits else None
    try:
        X_rest, X_held, y_rest, y_held = train_test_split(
            X, y, test_size=fraction, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        raise ValueError(f"cannot split off a {what} set of {fraction:g} of "
                         f"{len(y)} rows: {exc}") from None
    return X_rest, y_rest, X_held, y_held


# The Stanford Sentiment Treebank lives in its own module; importable from here too, beside MNIST
# (``from nnbasics.datasets import load_sst``).
from nnbasics.io.sst import download_sst, load_sst  # noqa: E402

__all__ += ["download_sst", "load_sst"]
from nnbasics.io.text8 import download_text8 as download_text8  # noqa: E402 (re-export)
