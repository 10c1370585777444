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
``ValueError`` naming what was found.  Array sizes are checked against the zip directory before
anything is allocated.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Callable, Iterator
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


def _check_member_sizes(zf: zipfile.ZipFile, path: Path) -> None:
    """Every ``.npy`` member's header must declare no more bytes than the member holds."""
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"{path}: unexpected member {info.filename!r}; not an nnbasics file")
        with zf.open(info) as member:
            try:
                major, _ = np.lib.format.read_magic(member)
                if major == 1:
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            except ValueError as exc:
                raise ValueError(
                    f"{path}: member {info.filename!r} is not a valid .npy: {exc}"
                ) from None
            header_bytes = member.tell()
        if dtype.hasobject:
            raise ValueError(
                f"{path}: member {info.filename!r} holds Python objects (pickle); "
                "refusing to load it"
            )
        declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if declared + header_bytes > info.file_size:
            raise ValueError(
                f"{path}: member {info.filename!r} declares {declared} bytes of data but "
                f"holds only {info.file_size - header_bytes}; the file is truncated or corrupt"
            )


def read_npz(path: str | os.PathLike, required: tuple[str, ...] = (),
             what: str = "nnbasics file") -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, read without pickle after checking its structure.

    Every member must be a ``.npy`` whose header declares no more data than the member holds
    (a crafted header cannot make us allocate), none may hold Python objects, and the members
    named in ``required`` must be present.

    Parameters
    ----------
    path : str or path-like
    required : tuple of str
        Member names that must be present, with their ``.npy`` suffix (``"vectors.npy"``).
    what : str
        What the file should be, for the messages (``"nnbasics word2vec model"``).

    Returns
    -------
    arrays : dict of str to ndarray
        Every member, by name without the suffix.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A directory, not a zip, truncated or corrupted (CRC, compression fields), a member that
        is not a plain ``.npy``, or a required member missing (``what`` names the expected kind
        of file in that message).
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
            _check_member_sizes(zf, path)
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
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
