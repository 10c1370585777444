"""Output paths of the commands, checked before the work that fills them.

A command that trains for an hour and then cannot write its result has wasted the hour, and an
error about a temporary file (``.v.bin.3f2a.tmp``) names nothing the user typed.  So every
output a command will write (``--out``, ``--save``, ``--save-model``, ``--report``,
``--checkpoint-dir``) is checked first, by doing what the write will do: creating a file in the
directory that will hold it (then removing it).  Permission bits alone would not tell (root
ignores them; ``/proc`` refuses new files whatever they say).  Errors are ``ValueError`` naming
the option and the user's path.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["check_output_directory", "check_output_file"]


def check_output_file(path: str | os.PathLike, option: str) -> None:
    """Refuse ``path`` as a file to write unless its directory exists and takes new files.

    Raises
    ------
    ValueError
        ``path`` is empty or a directory, its directory is missing, or no file can be created
        there; the message names ``option`` and ``path``.
    """
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{option} is empty; give a file name")
    path = Path(text)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a directory; give a file name")
    directory = path.parent
    if not directory.is_dir():
        raise ValueError(f"{option} {path}: directory {directory} does not exist")
    _probe(directory, option, path)


def check_output_directory(path: str | os.PathLike, option: str) -> None:
    """Refuse ``path`` as a directory to write into (created if needed) unless it, or its
    nearest existing parent, is a directory that takes new files.

    Raises
    ------
    ValueError
        ``path`` or a parent is a file, or no file can be created where the directory is or
        would be made; the message names ``option`` and ``path``.
    """
    path = Path(path)
    existing = next(p for p in (path, *path.parents, Path(".")) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{option} {path}: {existing} exists and is not a directory")
    _probe(existing, option, path)


def _probe(directory: Path, option: str, path: Path) -> None:
    """Create and remove a file in ``directory``, as the real write will (same flags as
    :func:`nnbasics.io.serialization.atomic_file`)."""
    probe = directory / f".nnbasics-probe-{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{option} {path}: cannot create files in {directory} ({reason})"
                         ) from None
    os.close(fd)
    os.unlink(probe)
