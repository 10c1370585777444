"""Files of nnbasics: one ``.npz`` holding named arrays plus a JSON metadata string.

Format: an uncompressed NumPy ``.npz`` (a zip of ``.npy`` members) with an extra member
``__metadata__``, a 0-d unicode array holding a JSON object with at least ``{"format":
"nnbasics", "kind": <what the file holds>, "version": <int>}``.  Every array is plain numeric or
unicode, so the file loads with ``np.load(path, allow_pickle=False)``; nothing here ever unpickles.

Writes are atomic: the file is written to a temporary name in the destination directory, flushed
to disk, then renamed over the destination with :func:`os.replace`, so a reader (or a process
killed mid-write) sees either the old complete file or the new complete one, never a torn one.

Reads are defensive: a missing file raises ``FileNotFoundError``; a truncated or corrupted file
(bad zip structure, CRC mismatch, an ``.npy`` header whose declared size exceeds its member) a
``ValueError`` saying so; a foreign ``.npz`` (no nnbasics metadata) or a file of another kind a
``ValueError`` naming what was found.  What a file may make us allocate is bounded before
anything is read (:func:`read_npz`): a zip directory or ``.npy`` header that lies, or a zip bomb,
is a ``ValueError``, not a ``MemoryError``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["FORMAT_NAME", "atomic_file", "atomic_write", "load_arrays", "read_npz", "save_arrays"]

FORMAT_NAME = "nnbasics"
_METADATA_KEY = "__metadata__"


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file for ``path``'s new content, renamed to ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.  Its directory must exist; a directory at ``path`` is
        refused before anything is written.

    Yields
    ------
    file : binary file object
        A new file beside ``path`` (same directory, so the rename is atomic).  When the
        ``with`` block ends without an error it is flushed, synced and renamed over ``path``;
        when the block raises, it is removed and ``path`` is untouched.

    Notes
    -----
    The new file gets the permissions ``open()`` would give it (``0o666`` minus the umask, which
    the kernel applies: the process umask is never changed), or those of the file it replaces.
    An error of the final rename names ``path``, not the temporary file.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"directory does not exist: {directory}")
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    while True:  # a fresh name, created exclusively (what mkstemp does, but with mode 0o666)
        tmp_name = str(directory / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        try:
            os.chmod(fd, os.stat(path).st_mode & 0o7777)  # a replaced file keeps its mode
        except (FileNotFoundError, NotImplementedError, PermissionError):
            pass
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.replace(tmp_name, path)
        except OSError as error:  # e.g. the target became a directory meanwhile
            raise OSError(error.errno, error.strerror, str(path)) from None
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it to ``path``
    (:func:`atomic_file`); ``path`` is untouched if ``write`` raises."""
    with atomic_file(path) as fh:
        write(fh)
    return Path(path)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], metadata: dict[str, Any],
                kind: str, version: int = 1) -> Path:
    """Write ``arrays`` and ``metadata`` (JSON-serialisable) to ``path`` atomically.

    ``metadata`` gets the keys ``format``, ``kind`` and ``version`` added.  Arrays must be numeric,
    boolean or unicode (no object arrays).  Returns the path written.
    """
    for name, a in arrays.items():
        if name == _METADATA_KEY:
            raise ValueError(f"array name {_METADATA_KEY!r} is reserved")
        if np.asarray(a).dtype.hasobject:
            raise TypeError(
                f"array {name!r} has object dtype, which cannot be stored without pickle"
            )
    meta = {"format": FORMAT_NAME, "kind": kind, "version": int(version), **metadata}
    text = json.dumps(meta, sort_keys=True, allow_nan=True)
    payload = {**{k: np.asarray(v) for k, v in arrays.items()}, _METADATA_KEY: np.array(text)}
    return atomic_write(path, lambda fh: np.savez(fh, **payload))


#: A deflated file may inflate to at most this many times its size on disk (plus
#: :data:`SMALL_FILE_ALLOWANCE`): numeric arrays compress a few times, a zip bomb a thousand.
MAX_COMPRESSION_RATIO = 20
#: Bytes any file may inflate to whatever its size (a small model of zeros compresses well).
SMALL_FILE_ALLOWANCE = 64 << 20
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Member:
    """One checked ``.npy`` member: where it is and what array its header declares."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    header_bytes: int


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> _Member:
    """Parse a member's ``.npy`` header (numpy.lib.format's documented readers) and check that
    the array it declares is exactly the member's uncompressed size, holds no Python objects."""
    name = info.filename
    with zf.open(info) as member:
        try:
            major, minor = np.lib.format.read_magic(member)
            if (major, minor) == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            elif (major, minor) == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unsupported .npy format version {major}.{minor}")
        except ValueError as exc:
            raise ValueError(f"{path}: member {name!r} is not a valid .npy: {exc}") from None
        header_bytes = member.tell()
    if dtype.hasobject:
        raise ValueError(f"{path}: member {name!r} holds Python objects (pickle); "
                         "refusing to load it")
    declared = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if header_bytes + declared != info.file_size:
        raise ValueError(
            f"{path}: member {name!r} declares shape {shape} of {dtype} ({declared} bytes of "
            f"data) but the zip directory gives it {info.file_size - header_bytes}; the file "
            "is truncated or corrupt"
        )
    return _Member(info, tuple(shape), bool(fortran_order), dtype, header_bytes)


def _check_directory(zf: zipfile.ZipFile, path: Path, max_bytes: int | None) -> None:
    """The zip directory's claims, checked against the file before any member is inflated:
    plain ``.npy`` members, stored or deflated, present in the file, and inflating in all to no
    more than ``MAX_COMPRESSION_RATIO`` times the file's size (and ``max_bytes``)."""
    on_disk = path.stat().st_size
    seen = set()
    for info in zf.infolist():
        name = info.filename
        if not name.endswith(".npy"):
            raise ValueError(f"{path}: unexpected member {name!r}; not an nnbasics file")
        if name in seen:
            raise ValueError(f"{path}: member {name!r} appears twice; the file is corrupt")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise ValueError(f"{path}: member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"{path}: member {name!r} uses compression method "
                             f"{info.compress_type}; only stored or deflated members are read "
                             "(the file is corrupt or not an .npz)")
        if info.header_offset + info.compress_size > on_disk:
            raise ValueError(
                f"{path}: the zip directory says member {name!r} holds {info.compress_size} "
                f"bytes, but the file has {on_disk}; the file is truncated or corrupt"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ValueError(
                f"{path}: stored member {name!r} claims {info.file_size} bytes but occupies "
                f"{info.compress_size}; the file is corrupt"
            )
    total = sum(info.file_size for info in zf.infolist())
    budget = MAX_COMPRESSION_RATIO * on_disk + SMALL_FILE_ALLOWANCE
    if total > budget:
        raise ValueError(
            f"{path}: its members claim {total} bytes uncompressed, more than "
            f"{MAX_COMPRESSION_RATIO}x the file's {on_disk} bytes (a zip bomb, or a lying zip "
            "directory?); refusing to inflate it (save genuine data uncompressed, np.savez)"
        )
    if max_bytes is not None and total > max_bytes:
        raise ValueError(f"{path}: its members hold {total} bytes uncompressed, more than the "
                         f"{max_bytes} allowed")


def _read_member(zf: zipfile.ZipFile, member: _Member) -> np.ndarray:
    """The member's array, inflated chunk by chunk into a buffer of the declared size only; the
    member must end exactly there (which is also when zipfile checks its CRC)."""
    count = math.prod(member.shape)
    array = np.empty(count, dtype=member.dtype)
    buffer = memoryview(array.view(np.uint8)) if array.nbytes else memoryview(b"")
    with zf.open(member.info) as stream:
        stream.read(member.header_bytes)
        filled = 0
        while filled < len(buffer):
            chunk = stream.read(min(_READ_CHUNK, len(buffer) - filled))
            if not chunk:
                raise EOFError(f"member {member.info.filename!r} ends early")
            buffer[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        if stream.read(1):
            raise ValueError(f"member {member.info.filename!r} holds more data than declared")
    if member.fortran_order:
        return array.reshape(member.shape[::-1]).transpose()
    return array.reshape(member.shape)


def read_npz(path: str | os.PathLike, required: tuple[str, ...] = (),
             what: str = "nnbasics file", max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, read without pickle and with a bound on what it allocates.

    This is the one reader of ``.npz`` files in nnbasics (models, checkpoints, keyed vectors,
    word2vec models, data sets).  Before any array is allocated it checks the zip directory
    against the file (members present, stored or deflated, the whole inflating to no more than
    :data:`MAX_COMPRESSION_RATIO` times the file's size plus :data:`SMALL_FILE_ALLOWANCE`) and
    each member's ``.npy`` header against the member (the declared shape times the item size is
    exactly the member's size; no object dtype).  Each array is then inflated in chunks into a
    buffer of its declared size: a directory that lies, a header that disagrees or a zip bomb
    is refused with a ``ValueError``, never a ``MemoryError``.

    Parameters
    ----------
    path : str or path-like
    required : tuple of str
        Member names that must be present, with their ``.npy`` suffix (``"vectors.npy"``).
    what : str
        What the file should be, for the messages (``"nnbasics word2vec model"``).
    max_bytes : int, optional
        A further cap on the bytes of all arrays together.

    Returns
    -------
    arrays : dict of str to ndarray
        Every member, by name without the suffix.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A directory, not a zip, truncated or corrupted (CRC, compression fields, sizes), a
        member that is not a plain ``.npy``, a header that disagrees with its member, too much
        to inflate, or a required member missing (``what`` names the expected kind of file in
        that message).  Every message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not an {what}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [name for name in required if name not in names]
            if missing:
                raise ValueError(f"{path} is a .npz file but not an {what} (no "
                                 f"{', '.join(name.removesuffix('.npy') for name in missing)} "
                                 "entry)")
            _check_directory(zf, path, max_bytes)
            members = [_read_header(zf, info, path) for info in zf.infolist()]
            arrays = {}
            for member in members:
                try:
                    arrays[member.info.filename.removesuffix(".npy")] = _read_member(zf, member)
                except ValueError as exc:
                    raise ValueError(f"{path}: {exc}; the file is corrupt") from None
            return arrays
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path} is not a valid {what} (truncated or corrupt: {exc})") from None
    except (EOFError, OSError, NotImplementedError, zlib.error) as exc:
        # NotImplementedError: zipfile's answer to a damaged compression or encryption field
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} could not be read (truncated or corrupt: {exc})") from None


def load_arrays(path: str | os.PathLike, kind: str | None = None, max_version: int = 1,
                what: str = "nnbasics file") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`: ``(arrays, metadata)``.

    Parameters
    ----------
    path : path of the ``.npz`` file
    kind : str, optional
        Expected ``metadata["kind"]``; a file of another kind raises ``ValueError``.
    max_version : int
        Newest format version this reader understands.
    what : str
        What the file should be, for the messages of :func:`read_npz`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a zip/npz, truncated, corrupted (CRC), foreign (no nnbasics metadata), of another
        kind, of a newer version, or holding object arrays.
    """
    path = Path(path)
    arrays = read_npz(path, required=(f"{_METADATA_KEY}.npy",), what=what)
    text = arrays.pop(_METADATA_KEY)
    try:
        meta = json.loads(str(text[()]))
    except (ValueError, TypeError, IndexError):
        raise ValueError(f"{path}: metadata is not valid JSON; the file is corrupt") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not an nnbasics file (metadata format is missing)")
    if kind is not None and meta.get("kind") != kind:
        raise ValueError(f"{path} holds a {meta.get('kind')!r}, not a {kind!r}")
    version = meta.get("version")
    if type(version) is not int or not 1 <= version <= max_version:  # bool is no version
        raise ValueError(
            f"{path} has format version {version!r}; this nnbasics reads up to {max_version}"
        )
    return arrays, meta
