"""Data sets for the MLP: the embedded digits, MNIST (IDX files), CSV and ``.npz``.

Every loader returns a :class:`Dataset`: features ``X`` (N, D) float32, labels ``y`` (N,), the
image shape when the rows are images (for the first-layer weight figure) and, for MNIST, the
official test split.  Loaders raise ``FileNotFoundError`` for missing files and ``ValueError``
naming the problem for malformed ones (wrong magic number, sizes that disagree with the header,
rows of different lengths, X and y of different lengths).  Sizes are checked before anything is
allocated.

MNIST can be downloaded by :func:`download_mnist`, which verifies every file's SHA-256 (the
checksums of the files as distributed, listed in :data:`MNIST_FILES`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnbasics.serialization import atomic_write

__all__ = [
    "MNIST_FILES",
    "Dataset",
    "download_mnist",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_idx",
    "load_mnist",
    "load_npz",
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
MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
# IDX type codes (the third byte of the magic number) -> big-endian NumPy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_MAX_BYTES = 1 << 32  # refuse headers that declare more than 4 GiB of data


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (MNIST's format), raw or gzipped (detected from its first bytes).

    Format: 2 zero bytes, a type code, the number of dimensions ``d``, then ``d`` big-endian
    uint32 sizes, then the data in row-major order.  Returns an array of the declared shape in
    native byte order.

    Raises
    ------
    FileNotFoundError
    ValueError
        Bad magic number or type code, a header declaring an implausible size, or data shorter
        or longer than the header declares.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with _open_maybe_gzip(path) as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise ValueError(f"{path} is not an IDX file (bad magic number {head.hex()})")
            dtype = np.dtype(_IDX_TYPES[head[2]])
            n_dims = head[3]
            dims_raw = fh.read(4 * n_dims)
            if len(dims_raw) < 4 * n_dims:
                raise ValueError(f"{path}: truncated IDX header")
            shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if n_bytes > _IDX_MAX_BYTES:
                raise ValueError(f"{path}: header declares {n_bytes} bytes of data; refusing")
            if not _is_gzip(path):  # a raw file's size is known before reading
                available = path.stat().st_size - 4 - 4 * n_dims
                if available != n_bytes:
                    raise ValueError(
                        f"{path}: header declares shape {shape} ({n_bytes} bytes) but the file "
                        f"holds {available} bytes of data"
                    )
            data = fh.read(n_bytes)
            if len(data) != n_bytes or fh.read(1):
                raise ValueError(
                    f"{path}: header declares shape {shape} ({n_bytes} bytes) but the data "
                    f"{'is shorter' if len(data) != n_bytes else 'is longer'}"
                )
    except (gzip.BadGzipFile, EOFError) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz", stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem} or {stem}.gz (MNIST IDX files expected)")


def _images_and_labels(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = load_idx(images_path)
    labels = load_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(f"{images_path}: expected images of shape (N, rows, cols), got {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected labels of shape (N,), got {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels"
        )
    X = images.reshape(images.shape[0], -1).astype(np.float32)
    X /= 255.0  # bytes 0..255 -> [0, 1]
    return X, labels.astype(np.int64)


def load_mnist(directory: str | os.PathLike) -> Dataset:
    """MNIST from a directory holding the four IDX files (raw or ``.gz``), pixels in [0, 1]."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")
    X, y = _images_and_labels(_find(directory, "train-images-idx3-ubyte"),
                              _find(directory, "train-labels-idx1-ubyte"))
    X_test, y_test = _images_and_labels(_find(directory, "t10k-images-idx3-ubyte"),
                                        _find(directory, "t10k-labels-idx1-ubyte"))
    if X.shape[1] != X_test.shape[1]:
        raise ValueError(f"{directory}: training images have {X.shape[1]} pixels, test images "
                         f"{X_test.shape[1]}")
    side = int(round(np.sqrt(X.shape[1])))
    shape = (side, side) if side * side == X.shape[1] else None
    return Dataset(X, y, f"mnist ({directory})", shape, X_test, y_test)


def download_mnist(directory: str | os.PathLike, mirrors=MNIST_MIRRORS, timeout: float = 60) -> Path:
    """Download the four MNIST files into ``directory``, verifying each file's SHA-256.

    Files already present with the right checksum are kept.  Each download goes to a temporary
    file that is renamed into place only after its size and checksum match; a mismatch raises
    ``ValueError`` and leaves nothing behind.  Returns ``directory``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, (sha256, size) in MNIST_FILES.items():
        target = directory / name
        if target.is_file() and _sha256(target) == sha256:
            continue
        errors = []
        for mirror in mirrors:
            try:
                with urllib.request.urlopen(mirror + name, timeout=timeout) as response:
                    atomic_write(target, lambda fh, r=response: _copy_checked(r, fh, size, sha256))
                break
            except (OSError, ValueError) as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise OSError(f"could not download {name}: " + "; ".join(errors))
    return directory


def _copy_checked(response, fh, size: int, sha256: str) -> None:
    digest = hashlib.sha256()
    n = 0
    while chunk := response.read(1 << 16):
        n += len(chunk)
        if n > size:
            raise ValueError(f"download is larger than the expected {size} bytes")
        digest.update(chunk)
        fh.write(chunk)
    if n != size or digest.hexdigest() != sha256:
        raise ValueError(f"checksum mismatch: got {n} bytes with SHA-256 {digest.hexdigest()}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        shutil.copyfileobj(fh, _HashWriter(digest))
    return digest.hexdigest()


class _HashWriter:
    def __init__(self, digest):
        self.digest = digest

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        return len(chunk)


# ----------------------------------------------------------------------------------------------
# CSV and npz
# ----------------------------------------------------------------------------------------------


def load_csv(path: str | os.PathLike, label_column: str | int = -1, header: bool | None = None,
             delimiter: str = ",") -> Dataset:
    """Rows of a CSV file: one column holds the label, every other column a numeric feature.

    Parameters
    ----------
    path : the file
    label_column : str or int, default -1 (the last column)
        The label column's name (needs a header line) or its index (negative counts from the end).
    header : bool or None, default None
        Whether the first line holds column names; ``None`` guesses (a first line with a
        non-numeric field other than the label is a header).
    delimiter : str, default ","

    Labels are kept as written: integers when every label is an integer, else strings.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh, delimiter=delimiter) if r and any(f.strip() for f in r)]
    if not rows:
        raise ValueError(f"{path}: no rows")
    first = rows[0]
    if header is None:
        # a label given by name needs a header; otherwise a first line whose *feature* fields
        # are not all numbers is one (labels themselves may be words)
        if isinstance(label_column, str):
            header = True
        else:
            label_at = int(label_column) % len(first) if -len(first) <= int(label_column) < len(
                first) else None
            header = not all(_is_number(f) for i, f in enumerate(first) if i != label_at)
    names = [f.strip() for f in first] if header else None
    body = rows[1:] if header else rows
    width = len(first)
    if isinstance(label_column, str):
        if names is None:
            raise ValueError(f"{path}: label column {label_column!r} given by name but the file has "
                             "no header line")
        if label_column not in names:
            raise ValueError(f"{path}: no column named {label_column!r}; columns are {names}")
        label_index = names.index(label_column)
    else:
        if not -width <= int(label_column) < width:
            raise ValueError(f"{path}: label column {label_column} is out of range for {width} columns")
        label_index = int(label_column) % width
    X = np.empty((len(body), width - 1), dtype=np.float32)
    labels = []
    for i, row in enumerate(body):
        if len(row) != width:
            raise ValueError(f"{path}: line {i + 1 + bool(header)} has {len(row)} fields, expected {width}")
        labels.append(row[label_index].strip())
        feats = row[:label_index] + row[label_index + 1 :]
        try:
            X[i] = [float(f) for f in feats]
        except ValueError:
            bad = next(f for f in feats if not _is_number(f))
            raise ValueError(f"{path}: line {i + 1 + bool(header)}: feature {bad!r} is not a number") from None
    y = np.array(labels)
    if all(_is_int(v) for v in labels):
        y = y.astype(np.int64)
    if body:
        _check_xy(X, y, str(path))
    else:
        raise ValueError(f"{path}: no data rows")
    return Dataset(X, y, str(path), _square_shape(X.shape[1]))


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
    side = int(round(np.sqrt(n_features)))
    return (side, side) if side * side == n_features and side > 1 else None


def load_npz(path: str | os.PathLike) -> Dataset:
    """An ``.npz`` holding arrays ``X`` (N, D) and ``y`` (N,) (optionally ``X_test``, ``y_test``).

    Loaded with ``allow_pickle=False``; image rows (N, h, w) are flattened.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz of numeric arrays ({exc})") from None
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing array(s) {missing}; expected 'X' and 'y' "
                         f"(found {sorted(arrays)})")
    image_shape = tuple(arrays["X"].shape[1:]) if arrays["X"].ndim == 3 else None

    def flat(X):
        X = np.asarray(X)
        if X.dtype.kind not in "iufb":
            raise ValueError(f"{path}: X must be numeric, got dtype {X.dtype}")
        return X.reshape(X.shape[0], -1).astype(np.float32) if X.ndim == 3 else X.astype(np.float32)

    X, y = flat(arrays["X"]), arrays["y"]
    _check_xy(X, y, str(path))
    X_test = y_test = None
    if "X_test" in arrays and "y_test" in arrays:
        X_test, y_test = flat(arrays["X_test"]), arrays["y_test"]
        _check_xy(X_test, y_test, f"{path} (test)")
        if X_test.shape[1] != X.shape[1]:
            raise ValueError(f"{path}: X has {X.shape[1]} features but X_test {X_test.shape[1]}")
    return Dataset(X, y, str(path), image_shape or _square_shape(X.shape[1]), X_test, y_test)


def load_dataset(spec: str, label_column: str | int = -1) -> Dataset:
    """``"digits"``, a directory of MNIST IDX files, a ``.csv`` or a ``.npz`` file."""
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
        return load_csv(path, label_column)
    if suffix == ".npz":
        return load_npz(path)
    raise ValueError(f"{spec}: unknown data format {suffix!r}; use .csv, .npz or an MNIST directory")
