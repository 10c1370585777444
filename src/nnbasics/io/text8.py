"""text8, the standard word2vec benchmark corpus: download with checksums, bounded extraction.

text8 is the first 10^8 bytes of an English Wikipedia dump (March 2006), cleaned by Matt
Mahoney to lower-case letters and single spaces: one line of 17,005,207 words.  It is
distributed as ``text8.zip`` holding one member, ``text8``.  :func:`download_text8` fetches the
zip, checks its size and SHA-256, then extracts only that member, reading at most its expected
size (a member whose declared or actual size differs is refused, so a damaged or hostile zip
cannot fill the disk), and checks the extracted file's SHA-256.  Files are renamed into place
only once verified.

The checksums (:data:`TEXT8_ZIP`, :data:`TEXT8_MEMBER`) are those of the files as distributed.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import zipfile
from pathlib import Path
from typing import BinaryIO

from nnbasics.io.serialization import atomic_file

__all__ = ["TEXT8_MEMBER", "TEXT8_URL", "TEXT8_ZIP", "download_text8"]

TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
#: (SHA-256, size in bytes) of ``text8.zip``
TEXT8_ZIP = ("a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232", 31_344_016)
#: (member name, SHA-256, size in bytes) of the text inside the zip
TEXT8_MEMBER = ("text8", "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7",
                100_000_000)

_CHUNK = 1 << 20


def _copy_bounded(source: BinaryIO, target: BinaryIO, size: int, sha256: str, what: str) -> None:
    """Copy at most ``size + 1`` bytes; ``ValueError`` unless exactly ``size`` with ``sha256``."""
    digest = hashlib.sha256()
    n_bytes = 0
    while chunk := source.read(min(_CHUNK, size + 1 - n_bytes)):
        n_bytes += len(chunk)
        if n_bytes > size:
            raise ValueError(f"{what} is larger than the expected {size} bytes")
        digest.update(chunk)
        target.write(chunk)
        if n_bytes == size and source.read(1):  # one byte past the end: too long
            raise ValueError(f"{what} is larger than the expected {size} bytes")
    if n_bytes != size or digest.hexdigest() != sha256:
        raise ValueError(f"{what}: checksum mismatch: got {n_bytes} bytes with SHA-256 "
                         f"{digest.hexdigest()}, expected {size} bytes with SHA-256 {sha256}")


def _has_checksum(path: Path, size: int, sha256: str) -> bool:
    if not path.is_file() or path.stat().st_size != size:
        return False
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest() == sha256


def _extract_member(archive: Path, target: Path, member: tuple[str, str, int]) -> None:
    """Extract ``member`` of ``archive`` to ``target``, bounded by and checked against its size
    and SHA-256."""
    name, sha256, size = member
    try:
        with zipfile.ZipFile(archive) as zf:
            try:
                info = zf.getinfo(name)
            except KeyError:
                raise ValueError(f"{archive}: no member {name!r} in the zip") from None
            if info.file_size != size:
                raise ValueError(f"{archive}: member {name!r} declares {info.file_size} bytes, "
                                 f"expected {size}")
            with zf.open(info) as source, atomic_file(target) as fh:
                _copy_bounded(source, fh, size, sha256, f"{archive}: member {name!r}")
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{archive}: not a valid zip file ({exc})") from None


def download_text8(
    directory: str | os.PathLike,
    url: str = TEXT8_URL,
    timeout: float = 60,
    zip_checksum: tuple[str, int] = TEXT8_ZIP,
    member: tuple[str, str, int] = TEXT8_MEMBER,
) -> Path:
    """Download text8 into ``directory`` and return the path of the extracted text file.

    Parameters
    ----------
    directory : str or path-like
        Where ``text8.zip`` and the extracted ``text8`` go (created if needed).
    url : str, default :data:`TEXT8_URL`
        Where the zip is fetched (any scheme :mod:`urllib` opens, e.g. ``file://`` for a copy).
    timeout : float, default 60
        Seconds per connection.
    zip_checksum : (str, int), default :data:`TEXT8_ZIP`
        SHA-256 hex digest and size in bytes of the zip.
    member : (str, str, int), default :data:`TEXT8_MEMBER`
        Name, SHA-256 hex digest and size in bytes of the member to extract.

    Returns
    -------
    Path
        ``directory / member name``, the verified text (one line of words for ``text8``).

    Raises
    ------
    OSError
        The download failed, or delivered a file of the wrong size or checksum (nothing is left
        behind).
    ValueError
        The zip is invalid, lacks the member, or the member has the wrong size or checksum.

    Notes
    -----
    A text file already present with the right checksum is returned at once; a zip already
    present with the right checksum is not downloaded again.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name, member_sha256, member_size = member
    text = directory / name
    if _has_checksum(text, member_size, member_sha256):
        return text
    zip_sha256, zip_size = zip_checksum
    archive = directory / (Path(url).name or "text8.zip")
    if not _has_checksum(archive, zip_size, zip_sha256):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, \
                    atomic_file(archive) as fh:
                _copy_bounded(response, fh, zip_size, zip_sha256, url)
        except (OSError, ValueError) as exc:
            raise OSError(f"could not download {url}: {exc}") from None
    _extract_member(archive, text, member)
    return text
